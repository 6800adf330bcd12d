//! Stack overflow detection and reports (Go's stack.go overflow report, and gort's checks for
//! stacks without a guard page): the scheduler checks a goroutine's canary when it switches away
//! from it and its top word before it runs (`check_stack`, `check_stack_run`), a waker checks a
//! parked goroutine's stack before writing into it (sudog.rs), the fault handler asks which
//! goroutine overflowed; each finds the goroutine whose stack overflowed and prints Go's report.
//! See stack.rs for the layout.

use crate::gmp::G;
use crate::print::Frames;
use crate::proc::find_g;
use crate::stack;

/// Checks gp's stack on every switch away from it (park, gosched, goexit, preemption), on g0:
/// its canary (below the stack: did gp overflow?). A guarded stack has none: its guard page
/// faults first.
///
/// The top word (above: did the stack above overflow into gp's?) is checked only before gp runs
/// again (`check_stack_run`) and by a waker about to write into a parked gp (sudog.rs): the two
/// words are the same memory as the canary of the stack above, which that goroutine's own
/// switch checks, and while gp is not running nothing else writes them. A check here too would
/// report nothing the other two miss, on every switch (a tenth of a yield's instructions).
pub(crate) fn check_stack(gp: *mut G) {
    // SAFETY: gp is the g we just left; its stack is live.
    unsafe {
        if !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) {
            stack_overflow(gp, (*gp).sched.sp);
        }
    }
}

/// Checks gp's stack just before it runs (execute, on g0), the other way round: its top word.
/// An unguarded stack that overflows writes its canary (the top reserve of the slot below) and
/// then the top frames of the goroutine below; that goroutine may be resumed on another M before
/// the overflowing one's next switch is checked, and must never run on trampled frames. Every
/// stack is checked (one 16-byte reserve): a guarded stack's slot above may be an unguarded one,
/// and where there are no stack probes (32-bit arm) a frame larger than a guard jumps it.
/// gp's own canary needs no second look: it was checked when gp last switched away, and the
/// top reserve of the slot below is written by nothing while gp does not run.
pub(crate) fn check_stack_run(gp: *mut G) {
    // SAFETY: gp is runnable and ours; its stack is live.
    unsafe {
        if !stack::top_ok(&(*gp).stack) {
            overwritten_from_above(gp);
        }
    }
}

/// gp's top word is broken: the stack above gp's overflowed into it. Reports the goroutine that
/// owns that stack (the one whose canary is gp's top word, or further up if that one was run
/// through too; else any overflowed goroutine; else gp itself, saying its stack was overwritten
/// from above) and exits 2. On g0, never in a signal handler (it waits for the allgs lock).
#[cold]
pub(crate) fn overwritten_from_above(gp: *mut G) -> ! {
    // SAFETY: gp is a valid g with a live stack.
    let (goid, mut word) = unsafe { ((*gp).goid, stack::top_word(&(*gp).stack)) };
    // Walk up the slots: the g whose canary is `word` overflowed into gp, unless its own top word
    // is broken too (an overflow from further up ran through it).
    let mut over = None;
    for _ in 0..1024 {
        let Some(g) = find_g(true, |g| {
            // SAFETY: g is a live g from allgs (find_g).
            unsafe { !(*g).stack_guarded && stack::canary_word(&(*g).stack) == word }
        }) else {
            break;
        };
        over = Some(g);
        // SAFETY: as above.
        if unsafe { stack::top_ok(&(*g).stack) } {
            break;
        }
        // SAFETY: as above.
        word = unsafe { stack::top_word(&(*g).stack) };
    }
    let over = over.or_else(find_overflowed_g);
    if let Some(over) = over {
        stack_overflow_after(
            over,
            0,
            format_args!("runtime: goroutine {} not run: its stack was overwritten from above\n", goid),
        );
    }
    stack_overflow_after(
        gp,
        // SAFETY: gp is valid.
        unsafe { (*gp).sched.sp },
        format_args!(
            "runtime: goroutine {} not run: its stack was overwritten from above by an overflow of the stack above it\n",
            goid
        ),
    )
}

/// A waker found the stack of parked goroutine gp broken (sudog.rs check_parked_stack): report
/// the overflow that did it (`top_ok` false: the stack above gp's overflowed into it) and exit 2.
#[cold]
pub(crate) fn parked_stack_broken(gp: *mut G, top_ok: bool) -> ! {
    if !top_ok {
        overwritten_from_above(gp);
    }
    // SAFETY: gp is parked: its saved sp is stable.
    stack_overflow(gp, unsafe { (*gp).sched.sp })
}

/// A goroutine whose unguarded stack overflowed (its canary below the stack is broken), if any.
/// The fault handler asks before reporting a plain fault: an overflow past the canary can write
/// into a neighbouring stack, and that neighbour, running on another M, may fault first.
/// Returns None if the g list is locked (the faulting thread may hold that lock).
pub(crate) fn find_overflowed_g() -> Option<*mut G> {
    // An overflow of a packed stack can run on through the stacks below it, breaking their
    // canaries too: the one it started from is the one whose own top word is still intact.
    find_g(false, |gp| {
        // SAFETY: gp is a live g from allgs (find_g).
        unsafe { !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) && stack::top_ok(&(*gp).stack) }
    })
    .or_else(|| {
        find_g(false, |gp| {
            // SAFETY: as above.
            unsafe { !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) }
        })
    })
}

/// Prints Go's stack overflow report for gp and exits 2.
pub(crate) fn stack_overflow(gp: *mut G, sp: usize) -> ! {
    report(gp, sp, format_args!(""), Frames::Here(None))
}

/// stack_overflow for a fault a signal (or windows exception) reported: the frames start where
/// it interrupted the goroutine.
pub(crate) fn stack_overflow_signal(gp: *mut G, sp: usize, regs: crate::print::CurRegs) -> ! {
    report(gp, sp, format_args!(""), Frames::Signal(regs))
}

/// stack_overflow with `pre` printed first, in the same report (see print::die).
pub(crate) fn stack_overflow_after(gp: *mut G, sp: usize, pre: core::fmt::Arguments<'_>) -> ! {
    report(gp, sp, pre, Frames::Here(None))
}

/// Go's report: `runtime: goroutine N stack exceeds L-byte limit`, `runtime: sp=...`, `fatal
/// error: stack overflow` (a runtime throw: gort's frames shown too), then the goroutines.
fn report(gp: *mut G, sp: usize, pre: core::fmt::Arguments<'_>, frames: Frames<'_>) -> ! {
    // SAFETY: gp is a valid g (the overflowing one).
    let (goid, s, limit) = unsafe {
        let s = (*gp).stack;
        ((*gp).goid, s, if (*gp).startfn != 0 { stack::limit(&s) } else { s.hi - s.lo })
    };
    crate::print::die(
        crate::print::Failure::Throw,
        format_args!(
            "{}runtime: goroutine {} stack exceeds {}-byte limit\nruntime: sp={:#x} stack=[{:#x}, {:#x}]\n{}fatal error: stack overflow\n",
            pre,
            goid,
            limit,
            sp,
            s.lo,
            s.hi,
            Hint(fits(sp, s.hi, limit))
        ),
        frames,
    )
}

/// The smallest stack size (a power of two, what go_with_stack rounds to) above the depth the
/// goroutine had reached when it overflowed: `hi - sp`, when sp lies below the top of its stack
/// and within the largest stack; None when sp says nothing (not on this stack). A lower bound:
/// the goroutine may have gone deeper still.
fn fits(sp: usize, hi: usize, limit: usize) -> Option<(usize, usize)> {
    const MAX: usize = 256 << 20;
    let used = hi.checked_sub(sp)?;
    (used > limit && used < MAX).then(|| (used, (used + 1).next_power_of_two()))
}

/// The line that says what to do about an overflow: a bigger stack for every goroutine
/// (GORT_STACK_SIZE) or for this one (go_with_stack), with the size that would have held the
/// depth reached, if known.
struct Hint(Option<(usize, usize)>);

impl core::fmt::Display for Hint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some((used, n)) => writeln!(
                f,
                "runtime: hint: it reached {used} bytes, which a {n}-byte stack holds: run with GORT_STACK_SIZE={n} (every goroutine), or start it with gort::go_with_stack({n}, ...)"
            ),
            None => writeln!(
                f,
                "runtime: hint: run with a bigger GORT_STACK_SIZE (every goroutine), or start it with gort::go_with_stack(size, ...)"
            ),
        }
    }
}

#[cfg(test)]
mod hint_tests {
    use super::fits;

    #[test]
    fn the_size_that_fits() {
        // 100 KB deep on a 64 KB stack: 128 KB would have held it.
        assert_eq!(fits(0x10_0000 - 100 * 1024, 0x10_0000, 65536), Some((100 * 1024, 131072)));
        // exactly one power of two deep: the next one.
        assert_eq!(fits(0x10_0000 - 131072, 0x10_0000, 65536), Some((131072, 262144)));
        // sp above the top, or not past the limit: unknown.
        assert_eq!(fits(0x10_0010, 0x10_0000, 65536), None);
        assert_eq!(fits(0x10_0000 - 100, 0x10_0000, 65536), None);
    }
}
