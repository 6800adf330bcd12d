//! Boot (Go's proc.go schedinit, mstart, mcommoninit, runtime.main): the steps rt0_go calls, in
//! order, and the start of every M.

use super::*;

/// rt0_go → check (Go's runtime·check). The first Rust code to run; TLS already works. Its
/// boottrace lines (and rt0_go's) are made by `args`, once GODEBUG says whether to trace: what
/// they show does not change in between, and a program that is not traced never formats them
/// (formatting them into the early buffer cost a hello five page faults).
#[no_mangle]
pub extern "C" fn runtime_check() {
    args::check();
}

/// The boottrace lines of rt0_go and check, when boottrace may be on (made by `args`).
#[cold]
fn boottrace_rt0_and_check() {
    let (m0, g0) = (m0(), g0());
    // SAFETY: rt0_go has initialised g0's stack bounds and the m0/g0 links; single-threaded.
    unsafe {
        let base = crate::sys::tls_base();
        let tls = ptr::addr_of!((*m0).tls) as usize;
        let s = &(*g0).stack;
        // linux: the thread pointer is &m0.tls; windows: tls_base is our TEB slot, holding g0.
        #[cfg(not(windows))]
        let (tls_check, tls_ok) = ("tls_base_is_m0_tls", base == tls);
        #[cfg(windows)]
        let (tls_check, tls_ok) = ("tls_slot_holds_g0", *(base as *const usize) == g0 as usize);
        boottrace(
            "rt0_go",
            format_args!(
                "tls={} tls_base={:#x} &m0.tls={:#x} {}={} getg_is_g0={} g0.stack=[{:#x}, {:#x}) size={} m0.g0=&g0:{} g0.m=&m0:{}",
                Str(crate::sys::TLS_MECHANISM),
                base,
                tls,
                Str(tls_check),
                bool_str(tls_ok),
                bool_str(arch::getg() == g0),
                s.lo,
                s.hi,
                s.hi - s.lo,
                bool_str((*m0).g0 == g0),
                bool_str((*g0).m == m0)
            ),
        );
    }
    boottrace("check", format_args!("type sizes, alignment and atomics ok"));
}

/// rt0_go → args (Go's runtime·args → sysargs): argc/argv, envp, the auxiliary vector.
///
/// # Safety
/// Called once by rt0_go with the kernel's argc/argv.
#[no_mangle]
pub unsafe extern "C" fn runtime_args(argc: isize, argv: *const *const u8) {
    // SAFETY: forwarded from rt0_go.
    let a = unsafe { os::sysargs(argc as usize, argv) };
    // Until parsedebugvars decides boottrace, each step's line is formatted into a buffer in
    // case it is on: a third of hello's startup instructions. A GODEBUG that does not mention
    // boottrace (nearly every run) decides it here already; one that does waits for the parse.
    let godebug = args::gogetenv_raw("GODEBUG").unwrap_or_default();
    if !godebug.windows(b"boottrace".len()).any(|w| w == b"boottrace") {
        crate::print::boottrace_decide(false);
    } else {
        boottrace_rt0_and_check();
    }
    boottrace("args", format_args!("argc={} envc={} {}", args::argc(), args::envc(), a));
}

/// rt0_go → osinit (Go's runtime·osinit): ncpu and the page sizes.
#[no_mangle]
pub extern "C" fn runtime_osinit() {
    os::osinit();
    // The huge page size is read at its first use (linux: a sysfs file): here only if traced.
    if crate::print::boottracing() {
        boottrace(
            "osinit",
            format_args!(
                "os={} ncpu={} physPageSize={} physHugePageSize={}",
                Str(os::GOOS),
                os::ncpu() as u64,
                os::phys_page_size(),
                os::phys_huge_page_size()
            ),
        );
    }
}

/// rt0_go → schedinit (Go's runtime·schedinit): every sub-step by Go's name, in Go's order.
#[no_mangle]
pub extern "C" fn runtime_schedinit() {
    let mp = m0();
    // lockInit: gort's locks are statically initialised futex words; nothing to rank.
    boottrace("schedinit", format_args!("begin"));
    SCHED.lock.lock().maxmcount = MAX_M_COUNT;
    boottrace("schedinit.maxmcount", format_args!("{}", MAX_M_COUNT as i64));

    stack::stackinit();
    // The guard budget is read at its first use (linux: vm.max_map_count): here only if traced.
    if crate::print::boottracing() {
        let (_, budget) = stack::guard_stats();
        boottrace(
            "schedinit.stackinit",
            format_args!("goroutine stack={} bytes, guard page budget={}", stack::stack_size(), budget),
        );
    }

    crate::malloc::mallocinit();
    // The statistics take the heap lock and read a page of `.bss` no hello reads otherwise.
    if crate::print::boottracing() {
        boottrace(
            "schedinit.mallocinit",
            format_args!(
                "{} size classes up to {} bytes, {}-byte pages, arena={} bytes",
                crate::malloc::NUM_CLASSES - 1,
                crate::malloc::MAX_SMALL_SIZE,
                crate::mheap::PAGE_SIZE,
                crate::malloc::read_mem_stats().heap_sys
            ),
        );
    }

    // Nothing in the runtime branches on the CPU's features: they are read for the trace only.
    // (amd64: three CPUIDs, each a trap to the hypervisor in a VM: 20 µs of a hello's startup.)
    if crate::print::boottracing() {
        boottrace("schedinit.cpuinit", format_args!("{}", crate::alg::cpuinit()));
    }

    // SAFETY: startup_random is AT_RANDOM's address (16 bytes) or 0.
    let seed = unsafe { crate::alg::alginit(os::startup_random()) };
    boottrace("schedinit.alginit", format_args!("hash seed from AT_RANDOM: {:#018x}", seed));

    mcommoninit(mp, -1);
    // SAFETY: mp is m0.
    boottrace(
        "schedinit.mcommoninit",
        format_args!("m0 id={} (maxmcount={})", unsafe { (*mp).id }, MAX_M_COUNT as i64),
    );

    let mask = os::save_initsigmask();
    boottrace("schedinit.initSigmask", format_args!("{:#x}", mask));

    args::goargs();
    boottrace("schedinit.goargs", format_args!("{} args", args::argslice().len()));
    args::goenvs();
    boottrace("schedinit.goenvs", format_args!("{} env entries", args::envs().len()));

    let secure = os::secure_mode();
    args::parsedebugvars(secure);
    let dbg = args::debug();
    crate::print::boottrace_decide(dbg.boottrace > 0);
    #[cfg(gort_pprof)]
    if dbg.memprofilerate >= 0 {
        crate::mprof::set_rate(dbg.memprofilerate as usize);
    }
    #[cfg(not(gort_pprof))]
    if dbg.cpuprofile.is_some() || dbg.memprofile.is_some() {
        crate::eprintln!("gort: GODEBUG=cpuprofile/memprofile: no profile: this program was built without gort's `pprof` feature (linux only)");
    }
    crate::preempt::init(dbg.asyncpreemptoff, dbg.forcepreemptns as i64);
    boottrace(
        "schedinit.parsedebugvars",
        format_args!(
            "secure={} schedtrace={} scheddetail={} boottrace={}",
            secure as u64, dbg.schedtrace as i64, dbg.scheddetail as i64, dbg.boottrace as i64
        ),
    );

    let env = args::gogetenv("GOMAXPROCS");
    let procs = match args::gomaxprocs_env(env) {
        Some(n) => n.min(MAX_GOMAXPROCS as i32),
        None => os::ncpu().min(MAX_GOMAXPROCS as u32) as i32,
    };
    boottrace(
        "schedinit.gomaxprocs",
        format_args!(
            // `{}` with a placeholder, not `{:?}` of the Option: Debug on a str pulls core's
            // escaping and Unicode tables into every program (2.7 KB of a stripped hello).
            "GOMAXPROCS env={} ncpu={} -> procs={}",
            Str(env.map_or("<unset>", |v| core::str::from_utf8(v).unwrap_or("<non-utf8>"))),
            os::ncpu() as u64,
            procs as i64
        ),
    );
    let runnable = procresize(&mut SCHED.lock.lock(), procs);
    if !runnable.is_null() {
        crate::throw("unknown runnable goroutine during bootstrap");
    }
    // Go's runtimeInitTime: only schedtrace reads it ("SCHED 0ms"), and only GODEBUG turns
    // schedtrace on; a program without it reads no clock at startup (issue 22: the first read
    // looks the vDSO up and faults in its data page).
    if args::debug().schedtrace > 0 {
        RUNTIME_INIT_TIME.store(nanotime(), Ordering::Relaxed);
    }
    boottrace(
        "schedinit.procresize",
        format_args!(
            "allp[0..{}], P0 bound to m0 (_Prunning), {} idle",
            procs as i64,
            SCHED.npidle.load(Ordering::Relaxed) as i64
        ),
    );
}

/// rt0_go → newproc(runtime_main): creates goroutine 1 on P0.
#[no_mangle]
pub extern "C" fn runtime_newproc(entry: usize) {
    let gp = newproc(entry, 0);
    // SAFETY: newproc returns a valid g.
    boottrace("newproc", format_args!("runtime_main as goid={} on P0 runnext", unsafe { (*gp).goid }));
}

/// rt0_go → mstart, and the entry of every new M's thread (Go's mstart → mstart0).
#[export_name = "runtime_mstart"]
pub extern "C" fn mstart() -> ! {
    mstart0()
}

/// Go's mstart0: g0's stack guard, then mstart1.
pub(super) fn mstart0() -> ! {
    let gp = arch::getg();
    // SAFETY: gp is this M's g0 with its stack bounds set (by rt0_go or allocm).
    unsafe {
        if (*gp).stack.lo == 0 {
            crate::throw("mstart0: g0 has no stack");
        }
    }
    mstart1()
}

/// Go's mstart1: records where g0's stack resets to, minit, signals (m0), mstartfn, the P, schedule.
pub(super) fn mstart1() -> ! {
    let gp = arch::getg();
    // SAFETY: gp is g0 of this M.
    let mp = unsafe { (*gp).m };
    // SAFETY: mp is this thread's M.
    unsafe {
        if gp != (*mp).g0 {
            crate::throw("bad runtime·mstart");
        }
        // Every mcall/systemstack onto g0 starts from here: our frame and callers stay intact.
        (*gp).sched.sp = arch::getsp();
        (*gp).sched.g = gp;
    }
    minit();
    if mp == m0() {
        mstartm0();
        boottrace("mstart", format_args!("m0: mstart0 → mstart1 → minit → initsig → schedule"));
    }
    // SAFETY: mstartfn and nextp were set by newm before the thread started.
    unsafe {
        if let Some(f) = (*mp).mstartfn {
            f();
        }
        if mp != m0() {
            acquirep((*mp).nextp);
            (*mp).nextp = ptr::null_mut();
        }
    }
    schedule()
}

/// Go's minit (per OS: thread id, signal stack and mask on Linux).
pub(super) fn minit() {
    os::minit(getm());
}

/// Go's mstartm0: m0 installs the signal handlers.
pub(super) fn mstartm0() {
    os::initsig();
}

/// Goroutine 1 (Go's runtime.main): runs the user's main, exits 0 (sysmon starts later:
/// `ensure_sysmon`).
pub(super) extern "C" fn runtime_main(_ctx: usize) {
    let gp = arch::getg();
    // Goroutine 1 stays on m0, the initial thread, until its first switch or the user's
    // lock_os_thread takes over (Go locks it during init; lockosthread.rs).
    main_init_lock();
    // Goroutine 1 came from runnext, so its run did not count in P0's schedtick, still 0. By
    // the time Go's runtime.main calls main.main it has parked for the runtime's own goroutines
    // (bgsweep, bgscavenge), which moves the count on; gort has none. At 0, main's first yield
    // would meet schedule's every-61st turn for the global queue and run main again before the
    // goroutines it queued (gosched.case: Go's order). So it counts here.
    let mp = acquirem();
    // SAFETY: m0 owns P0 here; schedtick is the owner's.
    unsafe { (*getp()).schedtick = 1 };
    releasem(mp);
    MAIN_STARTED.store(true, Ordering::Release);
    // SAFETY: gp is the running g.
    boottrace("schedule", format_args!("picked goid={} from P0 runnext; gogo onto its stack", unsafe { (*gp).goid }));
    // sysmon starts when the program can first need it (ensure_sysmon), at once for schedtrace.
    if args::debug().schedtrace > 0 {
        ensure_sysmon();
    }
    boottrace(
        "main",
        format_args!("runtime_main: mainStarted=true, calling the user's main (sysmon starts with a second goroutine or the first park)"),
    );
    #[cfg(not(test))]
    {
        extern "Rust" {
            /// Defined by `gort::main!` in the program.
            fn gort_user_main();
        }
        crate::trace::start_from_godebug();
        #[cfg(gort_pprof)]
        if let Some(path) = args::debug().cpuprofile {
            crate::cpuprof::godebug_start(path);
        }
        // SAFETY: gort::main! defines gort_user_main as a plain `fn()`.
        unsafe { gort_user_main() };
        crate::trace::stop();
    }
    profiles_at_exit();
    os::exit(0);
}

/// GODEBUG=cpuprofile and memprofile at exit (main returned, or `gort::os::exit`): the CPU
/// profile stops and is written, then the heap profile.
pub(crate) fn profiles_at_exit() {
    #[cfg(gort_pprof)]
    {
        let d = args::debug();
        if d.cpuprofile.is_some() {
            if let Err(e) = crate::cpuprof::stop() {
                crate::eprintln!("gort: GODEBUG=cpuprofile: {}", e);
            }
        }
        if let Some(path) = d.memprofile {
            crate::mprof::godebug_write(path);
        }
    }
}

/// The address of runtime_main, for rt0_go's `newproc(runtime_main)`.
#[no_mangle]
pub static runtime_mainPC: extern "C" fn(usize) = runtime_main;
