//! The C ABI the host sees. Handles are `Box::into_raw` pointers; the host validates every token
//! id and size before calling, so these functions do no checking of their own beyond what Rust's
//! bounds checks give (a bad call traps instead of corrupting memory).
#![allow(clippy::missing_safety_doc)]

use crate::ngram::NgramIndex;
use crate::sam::Automaton;
use crate::table::Table;
use crate::tree::Tree;

fn scratch(buf: &mut Vec<i32>, n: usize) -> *mut i32 {
    buf.clear();
    buf.resize(n, 0);
    buf.as_mut_ptr()
}

/// Scratch larger than this (in ids) is freed after use: one long prompt or prefill must not
/// keep its copy alive for the life of the drafter. Steps stay far below it.
const KEEP_SCRATCH: usize = 1 << 14;

fn release(buf: &mut Vec<i32>) {
    if buf.capacity() > KEEP_SCRATCH {
        *buf = Vec::new();
    }
}

// ---- draft tree ----

#[no_mangle]
pub extern "C" fn tree_new() -> *mut Tree {
    Box::into_raw(Box::new(Tree::new()))
}
#[no_mangle]
pub unsafe extern "C" fn tree_free(t: *mut Tree) {
    drop(Box::from_raw(t));
}
#[no_mangle]
pub unsafe extern "C" fn tree_clear(t: *mut Tree, capacity: i32) {
    (*t).clear(capacity.max(0) as usize);
}
#[no_mangle]
pub unsafe extern "C" fn tree_add(t: *mut Tree, parent: i32, token: i32, source: i32) -> i32 {
    (*t).add(parent, token, source)
}
#[no_mangle]
pub unsafe extern "C" fn tree_size(t: *mut Tree) -> i32 {
    (*t).size() as i32
}
/// Reorders breadth-first; the result is at `tree_out`: tokens | parents | depths | sources | agreed.
#[no_mangle]
pub unsafe extern "C" fn tree_finish(t: *mut Tree) -> i32 {
    (*t).finish() as i32
}
#[no_mangle]
pub unsafe extern "C" fn tree_out(t: *mut Tree) -> *const i32 {
    (*t).out.as_ptr()
}
#[no_mangle]
pub unsafe extern "C" fn tree_memory(t: *mut Tree) -> i32 {
    (*t).memory_bytes() as i32
}

// ---- suffix automaton ----

#[no_mangle]
pub extern "C" fn sam_new(max_tokens: i32) -> *mut Automaton {
    Box::into_raw(Box::new(Automaton::new(max_tokens.max(0) as usize)))
}
#[no_mangle]
pub unsafe extern "C" fn sam_free(a: *mut Automaton) {
    drop(Box::from_raw(a));
}
#[no_mangle]
pub unsafe extern "C" fn sam_reset(a: *mut Automaton) {
    (*a).reset();
}
#[no_mangle]
pub unsafe extern "C" fn sam_input(a: *mut Automaton, n: i32) -> *mut i32 {
    scratch(&mut (*a).input, n.max(0) as usize)
}

/// Runs `op` over the first n input tokens without holding a borrow of the input buffer.
unsafe fn with_input(a: *mut Automaton, n: i32, op: fn(&mut Automaton, &[i32])) {
    let a = &mut *a;
    let mut input = std::mem::take(&mut a.input);
    op(a, &input[..n as usize]);
    release(&mut input);
    a.input = input;
}
#[no_mangle]
pub unsafe extern "C" fn sam_append(a: *mut Automaton, n: i32) {
    with_input(a, n, |a, t| a.append(t));
}
#[no_mangle]
pub unsafe extern "C" fn sam_extend(a: *mut Automaton, n: i32) {
    with_input(a, n, |a, t| a.extend(t));
}
#[no_mangle]
pub unsafe extern "C" fn sam_advance(a: *mut Automaton, n: i32) {
    with_input(a, n, |a, t| a.advance(t));
}
#[no_mangle]
pub unsafe extern "C" fn sam_set_cursor(a: *mut Automaton, state: i32, len: i32) {
    (*a).cursor_state = state;
    (*a).cursor_len = len;
}
#[no_mangle]
pub unsafe extern "C" fn sam_cursor_state(a: *mut Automaton) -> i32 {
    (*a).cursor_state
}
#[no_mangle]
pub unsafe extern "C" fn sam_cursor_len(a: *mut Automaton) -> i32 {
    (*a).cursor_len
}
#[no_mangle]
pub unsafe extern "C" fn sam_match_end(a: *mut Automaton) -> i32 {
    (*a).match_end()
}
#[no_mangle]
pub unsafe extern "C" fn sam_length(a: *mut Automaton) -> i32 {
    (*a).text.len() as i32
}
#[no_mangle]
pub unsafe extern "C" fn sam_state_count(a: *mut Automaton) -> i32 {
    (*a).state_count() as i32
}
#[no_mangle]
pub unsafe extern "C" fn sam_edge_count(a: *mut Automaton) -> i32 {
    (*a).edge_count() as i32
}
#[no_mangle]
pub unsafe extern "C" fn sam_last(a: *mut Automaton) -> i32 {
    (*a).last
}
#[no_mangle]
pub unsafe extern "C" fn sam_draft(a: *mut Automaton, t: *mut Tree, max_len: i32, branches: i32, min_match: i32, source: i32) {
    (*a).draft_into(&mut *t, max_len, branches, min_match, source);
}
#[no_mangle]
pub unsafe extern "C" fn sam_memory(a: *mut Automaton) -> i32 {
    (*a).memory_bytes() as i32
}
/// Where array `which` lives: 0 text, 1 len, 2 link, 3 first_end, 4 edge_from, 5 edge_token,
/// 6 edge_target. Used both to export and (after `sam_import_begin`) to fill them.
#[no_mangle]
pub unsafe extern "C" fn sam_array(a: *mut Automaton, which: i32) -> *mut i32 {
    let a = &mut *a;
    match which {
        0 => a.text.as_mut_ptr(),
        1 => a.len.as_mut_ptr(),
        2 => a.link.as_mut_ptr(),
        3 => a.first_end.as_mut_ptr(),
        4 => a.edge_from.as_mut_ptr(),
        5 => a.edge_token.as_mut_ptr(),
        _ => a.edge_target.as_mut_ptr(),
    }
}
#[no_mangle]
pub unsafe extern "C" fn sam_import_begin(a: *mut Automaton, n_tokens: i32, n_states: i32, n_edges: i32, last: i32) {
    (*a).import_begin(n_tokens.max(0) as usize, n_states.max(1) as usize, n_edges.max(0) as usize, last);
}
/// 1 on success, 0 if the edges hold a duplicate (state, token).
#[no_mangle]
pub unsafe extern "C" fn sam_import_finish(a: *mut Automaton) -> i32 {
    (*a).import_finish() as i32
}

// ---- n-gram index ----

#[no_mangle]
pub extern "C" fn ngram_new(min_n: i32, max_n: i32, max_tokens: i32) -> *mut NgramIndex {
    Box::into_raw(Box::new(NgramIndex::new(min_n.max(1) as usize, max_n.max(1) as usize, max_tokens.max(0) as usize)))
}
#[no_mangle]
pub unsafe extern "C" fn ngram_free(g: *mut NgramIndex) {
    drop(Box::from_raw(g));
}
#[no_mangle]
pub unsafe extern "C" fn ngram_reset(g: *mut NgramIndex) {
    (*g).reset();
}
#[no_mangle]
pub unsafe extern "C" fn ngram_input(g: *mut NgramIndex, n: i32) -> *mut i32 {
    scratch(&mut (*g).input, n.max(0) as usize)
}
#[no_mangle]
pub unsafe extern "C" fn ngram_append(g: *mut NgramIndex, n: i32) {
    let g = &mut *g;
    let mut input = std::mem::take(&mut g.input);
    g.append(&input[..n as usize]);
    release(&mut input);
    g.input = input;
}
#[no_mangle]
pub unsafe extern "C" fn ngram_length(g: *mut NgramIndex) -> i32 {
    (*g).text.len() as i32
}
#[no_mangle]
pub unsafe extern "C" fn ngram_match_len(g: *mut NgramIndex) -> i32 {
    (*g).match_len()
}
#[no_mangle]
pub unsafe extern "C" fn ngram_match_end(g: *mut NgramIndex) -> i32 {
    (*g).match_end()
}
#[no_mangle]
pub unsafe extern "C" fn ngram_draft(g: *mut NgramIndex, t: *mut Tree, max_len: i32, branches: i32, source: i32) {
    (*g).draft_into(&mut *t, max_len, branches, source);
}
#[no_mangle]
pub unsafe extern "C" fn ngram_memory(g: *mut NgramIndex) -> i32 {
    (*g).memory_bytes() as i32
}

// ---- Token Recycling table ----

#[no_mangle]
pub extern "C" fn table_new(vocab: i32, k: i32) -> *mut Table {
    Box::into_raw(Box::new(Table::new(vocab.max(0) as usize, k.max(0) as usize)))
}
#[no_mangle]
pub unsafe extern "C" fn table_free(t: *mut Table) {
    drop(Box::from_raw(t));
}
#[no_mangle]
pub unsafe extern "C" fn table_input(t: *mut Table, n: i32) -> *mut i32 {
    scratch(&mut (*t).input, n.max(0) as usize)
}
/// Input: `rows` tokens, then `rows * k_in` top-k ids.
#[no_mangle]
pub unsafe extern "C" fn table_update(t: *mut Table, rows: i32, k_in: i32) {
    let t = &mut *t;
    let mut input = std::mem::take(&mut t.input);
    let (rows, k_in) = (rows as usize, k_in as usize);
    t.update(&input[..rows], &input[rows..rows + rows * k_in], k_in);
    release(&mut input);
    t.input = input;
}
/// Input: n parents, then n ranks.
#[no_mangle]
pub unsafe extern "C" fn table_set_template(t: *mut Table, n: i32) {
    let t = &mut *t;
    let input = std::mem::take(&mut t.input);
    let n = n as usize;
    t.set_template(&input[..n], &input[n..2 * n]);
    t.input = input;
}
#[no_mangle]
pub unsafe extern "C" fn table_expand(t: *mut Table, tree: *mut Tree, root: i32, source: i32) {
    (*t).expand_into(&mut *tree, root, source);
}
#[no_mangle]
pub unsafe extern "C" fn table_get(t: *mut Table, row: i32, j: i32) -> i32 {
    (*t).get(row, j as usize)
}
/// Exports every row (vocab * k ids, -1 = none) and returns where they are; the host copies
/// them and calls `table_export_done`.
#[no_mangle]
pub unsafe extern "C" fn table_export(t: *mut Table) -> *const i32 {
    (*t).export_rows();
    (*t).rows_out.as_ptr()
}
#[no_mangle]
pub unsafe extern "C" fn table_export_done(t: *mut Table) {
    release(&mut (*t).rows_out);
}
/// Replaces every row from the input buffer (vocab * k ids).
#[no_mangle]
pub unsafe extern "C" fn table_import(t: *mut Table) {
    (*t).import_rows();
    release(&mut (*t).input);
}
#[no_mangle]
pub unsafe extern "C" fn table_clear(t: *mut Table) {
    (*t).clear();
}
#[no_mangle]
pub unsafe extern "C" fn table_memory(t: *mut Table) -> i32 {
    (*t).memory_bytes() as i32
}
