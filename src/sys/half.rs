//! IEEE half-precision conversions in plain integer code (windows/arm's `__gnu_h2f_ieee` and
//! `__gnu_f2h_ieee` call these; compiler_builtins lacks them there). Pure, unit-tested on the host.

/// IEEE half to f32, exactly.
pub fn h2f(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    let bits = if exp == 0x1f {
        sign | 0x7f80_0000 | (man << 13) // inf / NaN
    } else if exp != 0 {
        sign | ((exp + 127 - 15) << 23) | (man << 13)
    } else if man == 0 {
        sign // ±0
    } else {
        // subnormal half: normalise
        let mut e: i32 = 127 - 15 + 1;
        let mut m = man;
        while m & 0x400 == 0 {
            m <<= 1;
            e -= 1;
        }
        sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
    };
    f32::from_bits(bits)
}

/// f32 to IEEE half, rounding to nearest even.
pub fn f2h(f: f32) -> u16 {
    let x = f.to_bits();
    let sign = (x >> 16) & 0x8000;
    let exp = ((x >> 23) & 0xff) as i32;
    let man = x & 0x7f_ffff;
    if exp == 0xff {
        return (sign | 0x7c00 | if man != 0 { 0x200 | (man >> 13) } else { 0 }) as u16;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return (sign | 0x7c00) as u16; // overflow: infinity
    }
    if e <= 0 {
        if e < -10 {
            return sign as u16; // underflow: ±0
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = m >> shift;
        let rest = m & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        let round = (rest > mid || (rest == mid && half & 1 == 1)) as u32;
        return (sign | (half + round)) as u16;
    }
    let half = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    let round = (rest > 0x1000 || (rest == 0x1000 && half & 1 == 1)) as u32;
    (sign | (half + round)) as u16 // a carry into the exponent is the right result (up to infinity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves() {
        for (h, f) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x0400, 6.103_515_6e-5),
            (0x3555, 0.333_251_95),
            (0x0000, 0.0),
            (0x8000, -0.0),
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ] {
            assert_eq!(h2f(h).to_bits(), f.to_bits(), "h2f({h:#x})");
            assert_eq!(f2h(f), h, "f2h({f})");
        }
        assert!(h2f(0x7e00).is_nan());
        assert_eq!(f2h(f32::NAN) & 0x7e00, 0x7e00);
        assert_eq!(f2h(0.1), 0x2e66); // rounds to nearest
        assert_eq!(f2h(65520.0), 0x7c00); // rounds up to infinity
        assert_eq!(f2h(1e-9), 0); // underflow
        assert_eq!(f2h(2.980_232_2e-8), 0); // exactly half the smallest subnormal: ties to even (0)
        assert_eq!(f2h(8.940_697e-8), 0x0002); // 1.5 subnormal units: ties to even (2)
        for h in 0..=0xffffu16 {
            let f = h2f(h);
            if !f.is_nan() {
                assert_eq!(f2h(f), h, "round trip {h:#x}");
            }
        }
    }
}
