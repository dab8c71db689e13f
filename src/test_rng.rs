//! The tests' source of repeatable random numbers: a linear congruential generator (Knuth's
//! MMIX constants), so that a failing case is the same case on every run and machine.

/// A generator seeded with `seed`: each call gives a number below its argument (which must
/// not be 0), from the state's high bits, the random ones of an LCG.
pub(crate) fn below(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_seed_gives_the_same_numbers_and_every_one_is_below_its_bound() {
        let (mut a, mut b, mut other) = (super::below(7), super::below(7), super::below(8));
        let first: Vec<u64> = (1..200).map(&mut a).collect();
        assert_eq!(first, (1..200).map(&mut b).collect::<Vec<_>>());
        assert_ne!(first, (1..200).map(&mut other).collect::<Vec<_>>());
        assert!(first.iter().zip(1..).all(|(&x, n)| x < n));
        assert!(first.iter().any(|&x| x > 0));
    }
}
