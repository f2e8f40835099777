//! Token Recycling adjacency table: row t holds the model's top-k next tokens after token t
//! (best first), -1 = none yet. Stored as u16 (0xFFFF = none) when every id fits, which halves
//! it (a 32k vocabulary at k = 8 is 512 KiB instead of 1 MiB); as i32 otherwise.
//! The draft is a static template tree (parent, rank) expanded breadth-first from a root token.
//! Twin of src/drafters/kernels/ts/recycling-table.ts.

use crate::tree::Tree;

const NONE16: u16 = 0xFFFF;

pub struct Table {
    vocab: usize,
    k: usize,
    narrow: Vec<u16>,
    wide: Vec<i32>,
    template_parents: Vec<i32>,
    template_ranks: Vec<i32>,
    /// Template node -> tree node during `expand_into` (-1 = not in the tree).
    placed: Vec<i32>,
    pub input: Vec<i32>,
    pub rows_out: Vec<i32>,
}

impl Table {
    pub fn new(vocab: usize, k: usize) -> Table {
        let mut t = Table {
            vocab,
            k,
            narrow: Vec::new(),
            wide: Vec::new(),
            template_parents: Vec::new(),
            template_ranks: Vec::new(),
            placed: Vec::new(),
            input: Vec::new(),
            rows_out: Vec::new(),
        };
        if vocab < NONE16 as usize {
            t.narrow = vec![NONE16; vocab * k];
        } else {
            t.wide = vec![-1; vocab * k];
        }
        t
    }

    fn is_wide(&self) -> bool {
        self.narrow.is_empty() && self.vocab * self.k > 0
    }

    pub fn get(&self, row: i32, j: usize) -> i32 {
        let at = row as usize * self.k + j;
        if self.is_wide() {
            self.wide[at]
        } else {
            let v = self.narrow[at];
            if v == NONE16 {
                -1
            } else {
                v as i32
            }
        }
    }

    pub fn clear(&mut self) {
        for v in self.narrow.iter_mut() {
            *v = NONE16;
        }
        for v in self.wide.iter_mut() {
            *v = -1;
        }
    }

    /// Overwrites row `tokens[i]` with `top_k[i * k_in..][..k]` for every i, in order (a later
    /// row for the same token wins); missing columns (k_in < k) become -1.
    pub fn update(&mut self, tokens: &[i32], top_k: &[i32], k_in: usize) {
        let k = self.k;
        for (i, &t) in tokens.iter().enumerate() {
            let src = &top_k[i * k_in..i * k_in + k_in];
            let at = t as usize * k;
            if self.is_wide() {
                let dst = &mut self.wide[at..at + k];
                for j in 0..k {
                    dst[j] = if j < k_in { src[j] } else { -1 };
                }
            } else if k == 8 && k_in >= 8 {
                store_row8_u16(&mut self.narrow[at..at + 8], &src[..8]);
            } else {
                let dst = &mut self.narrow[at..at + k];
                for j in 0..k {
                    dst[j] = if j < k_in { src[j] as u16 } else { NONE16 };
                }
            }
        }
    }

    /// Template in breadth-first order: parents[i] < i (-1 = under the root), ranks[i] < k.
    pub fn set_template(&mut self, parents: &[i32], ranks: &[i32]) {
        self.template_parents.clear();
        self.template_parents.extend_from_slice(parents);
        self.template_ranks.clear();
        self.template_ranks.extend_from_slice(ranks);
    }

    /// Expands the template from `root`: node i is child `ranks[i]` of its parent's row. A node
    /// whose row entry is empty, whose parent is missing, or that does not fit is left out with
    /// its subtree; a node equal to one already in the tree is shared (dedupe).
    pub fn expand_into(&mut self, tree: &mut Tree, root: i32, source: i32) {
        if root < 0 || root as usize >= self.vocab {
            return;
        }
        let n = self.template_parents.len();
        self.placed.clear();
        self.placed.resize(n, -1);
        for i in 0..n {
            let tp = self.template_parents[i];
            let (parent, row) = if tp < 0 {
                (-1, root)
            } else {
                let p = self.placed[tp as usize];
                if p < 0 {
                    continue;
                }
                (p, tree.token(p))
            };
            let token = self.get(row, self.template_ranks[i] as usize);
            if token >= 0 {
                self.placed[i] = tree.add(parent, token, source);
            }
        }
    }

    /// The whole table as ids (-1 = none) into `rows_out`.
    pub fn export_rows(&mut self) {
        self.rows_out.clear();
        if self.is_wide() {
            self.rows_out.extend_from_slice(&self.wide);
        } else {
            self.rows_out.extend(self.narrow.iter().map(|&v| if v == NONE16 { -1 } else { v as i32 }));
        }
    }

    /// Replaces the whole table with the `vocab * k` ids in `input` (-1 = none).
    pub fn import_rows(&mut self) {
        let n = self.vocab * self.k;
        if self.is_wide() {
            self.wide.copy_from_slice(&self.input[..n]);
        } else {
            for (d, &s) in self.narrow.iter_mut().zip(&self.input[..n]) {
                *d = if s < 0 { NONE16 } else { s as u16 };
            }
        }
    }

    pub fn memory_bytes(&self) -> usize {
        2 * self.narrow.capacity()
            + 4 * (self.wide.capacity()
                + self.template_parents.capacity()
                + self.template_ranks.capacity()
                + self.placed.capacity()
                + self.input.capacity()
                + self.rows_out.capacity())
    }
}

/// Eight i32 ids -> eight u16 (low halves; -1 becomes 0xFFFF = none) in one SIMD shuffle.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn store_row8_u16(dst: &mut [u16], src: &[i32]) {
    use core::arch::wasm32::{i8x16_shuffle, v128, v128_load, v128_store};
    assert!(dst.len() >= 8 && src.len() >= 8);
    // SAFETY: both slices hold at least 8 elements (checked above); wasm loads and stores
    // accept unaligned addresses.
    unsafe {
        let lo = v128_load(src.as_ptr() as *const v128);
        let hi = v128_load(src.as_ptr().add(4) as *const v128);
        let packed = i8x16_shuffle::<0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29>(lo, hi);
        v128_store(dst.as_mut_ptr() as *mut v128, packed);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn store_row8_u16(dst: &mut [u16], src: &[i32]) {
    for j in 0..8 {
        dst[j] = src[j] as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_overwrites_rows_and_pads() {
        for vocab in [100usize, 70_000] {
            let mut t = Table::new(vocab, 8);
            t.update(&[3], &[1, 2, 3, 4, 5, 6, 7, 8], 8);
            assert_eq!((0..8).map(|j| t.get(3, j)).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
            t.update(&[3, 4], &[9, 8, -1, 7, 6, 5], 3);
            assert_eq!((0..8).map(|j| t.get(3, j)).collect::<Vec<_>>(), vec![9, 8, -1, -1, -1, -1, -1, -1]);
            assert_eq!(t.get(4, 0), 7);
            assert_eq!(t.get(5, 0), -1);
        }
    }

    #[test]
    fn expands_template_and_skips_empty_rows() {
        let mut t = Table::new(10, 2);
        t.set_template(&[-1, -1, 0, 1], &[0, 1, 0, 0]);
        t.update(&[1, 2], &[2, 3, 4, 5], 2); // row 1 = [2, 3], row 2 = [4, 5], row 3 empty
        let mut tree = Tree::new();
        tree.clear(10);
        t.expand_into(&mut tree, 1, 0);
        let n = tree.finish();
        assert_eq!(&tree.out[..n], &[2, 3, 4]);
        assert_eq!(&tree.out[n..2 * n], &[-1, -1, 0]);
    }

    #[test]
    fn export_import_round_trip() {
        let mut a = Table::new(5, 2);
        a.update(&[4], &[0, 3], 2);
        a.export_rows();
        let mut b = Table::new(5, 2);
        b.input = a.rows_out.clone();
        b.import_rows();
        assert_eq!((b.get(4, 0), b.get(4, 1), b.get(0, 0)), (0, 3, -1));
    }
}
