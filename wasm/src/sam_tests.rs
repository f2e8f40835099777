//! Unit tests of sam.rs (kept apart to keep sam.rs short).
use super::*;

/// Longest suffix of text[..=i] ending at some e < i, and the smallest such e.
fn brute(text: &[i32], i: usize) -> (i32, i32) {
    let (mut best, mut end) = (0, -1);
    for e in 0..i {
        let mut l = 0;
        while l <= e && text[e - l] == text[i - l] {
            l += 1;
        }
        if l as i32 > best {
            best = l as i32;
            end = e as i32;
        }
    }
    (best, end)
}

fn lcg(seed: &mut u32) -> u32 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *seed >> 16
}

#[test]
fn cursor_matches_brute_force_on_random_streams() {
    let mut seed = 7;
    for alphabet in [2u32, 3, 5, 50] {
        let text: Vec<i32> = (0..600).map(|_| (lcg(&mut seed) % alphabet) as i32).collect();
        let mut a = Automaton::new(1 << 20);
        for i in 0..text.len() {
            a.append(&text[i..=i]);
            let (l, e) = brute(&text, i);
            assert_eq!((a.cursor_len, a.match_end()), (l, e), "alphabet {} at {}", alphabet, i);
        }
        assert!(a.state_count() <= 2 * text.len());
    }
}

#[test]
fn drafts_the_continuation_of_the_first_occurrence() {
    let mut a = Automaton::new(1 << 20);
    a.append(&[1, 2, 3, 4, 1, 2, 3]);
    let mut t = Tree::new();
    t.clear(8);
    a.draft_into(&mut t, 3, 1, 1, 0);
    assert_eq!(t.finish(), 3);
    assert_eq!(&t.out[0..3], &[4, 1, 2]);
}

#[test]
fn window_rebuild_keeps_recent_half() {
    let mut a = Automaton::new(8);
    a.append(&[9, 9, 9, 9, 1, 2, 3, 4, 5]);
    assert_eq!(a.text, vec![1, 2, 3, 4, 5]);
    a.append(&[1, 2]);
    assert_eq!((a.cursor_len, a.match_end()), (2, 1));
}

#[test]
fn import_round_trip_keeps_transitions() {
    let mut a = Automaton::new(1 << 20);
    a.extend(&[5, 6, 7, -1, 5, 6, 8]);
    let mut b = Automaton::new(1 << 20);
    b.import_begin(a.text.len(), a.state_count(), a.edge_count(), a.last);
    b.text.copy_from_slice(&a.text);
    b.len.copy_from_slice(&a.len);
    b.link.copy_from_slice(&a.link);
    b.first_end.copy_from_slice(&a.first_end);
    b.edge_from.copy_from_slice(&a.edge_from);
    b.edge_token.copy_from_slice(&a.edge_token);
    b.edge_target.copy_from_slice(&a.edge_target);
    assert!(b.import_finish());
    b.advance(&[5, 6]);
    assert_eq!((b.cursor_len, b.match_end()), (2, 1));
}
