//! Incremental prompt-lookup index: for every n in [min_n, max_n] an open-addressing hash from
//! an n-gram (compared token by token against the text, so hash collisions are harmless) to the
//! end index of its first occurrence. Per appended token: one insert per n; per query: one
//! lookup per n. Gives the same answer as the pure function `ngramPropose` in
//! src/drafters/ngram.ts. Twin of src/drafters/kernels/ts/ngram-index.ts.

use crate::tree::Tree;

const MIN_SLOTS: usize = 16;

pub struct NgramIndex {
    min_n: usize,
    max_n: usize,
    max_tokens: usize,
    pub text: Vec<i32>,
    /// tables[n - min_n]: slot -> end index of the first occurrence, -1 = empty.
    tables: Vec<Vec<i32>>,
    counts: Vec<usize>,
    pub input: Vec<i32>,
}

impl NgramIndex {
    pub fn new(min_n: usize, max_n: usize, max_tokens: usize) -> NgramIndex {
        let min_n = min_n.max(1);
        let max_n = max_n.max(min_n);
        let width = max_n - min_n + 1;
        NgramIndex {
            min_n,
            max_n,
            max_tokens: max_tokens.max(2),
            text: Vec::new(),
            tables: (0..width).map(|_| vec![-1; MIN_SLOTS]).collect(),
            counts: vec![0; width],
            input: Vec::new(),
        }
    }

    pub fn reset(&mut self) {
        self.text.clear();
        for t in self.tables.iter_mut() {
            for s in t.iter_mut() {
                *s = -1;
            }
        }
        for c in self.counts.iter_mut() {
            *c = 0;
        }
    }

    fn gram_hash(&self, end: usize, n: usize) -> u32 {
        let mut h: u32 = 0x811C_9DC5;
        for &t in &self.text[end + 1 - n..=end] {
            h = (h ^ t as u32).wrapping_mul(0x0100_0193);
        }
        h ^= h >> 16;
        h = h.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 13;
        h
    }

    fn same(&self, a: usize, b: usize, n: usize) -> bool {
        self.text[a + 1 - n..=a] == self.text[b + 1 - n..=b]
    }

    /// Slot of the n-gram ending at `end`: its entry, or the empty slot where it would go.
    fn probe(&self, end: usize, n: usize) -> usize {
        let table = &self.tables[n - self.min_n];
        let mask = table.len() - 1;
        let mut i = self.gram_hash(end, n) as usize & mask;
        loop {
            let s = table[i];
            if s < 0 || self.same(s as usize, end, n) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn insert_first(&mut self, end: usize, n: usize) {
        let i = self.probe(end, n);
        let w = n - self.min_n;
        if self.tables[w][i] >= 0 {
            return; // seen before: keep the first occurrence
        }
        self.tables[w][i] = end as i32;
        self.counts[w] += 1;
        if self.counts[w] * 2 > self.tables[w].len() {
            let old = std::mem::take(&mut self.tables[w]);
            self.tables[w] = vec![-1; old.len() * 2];
            for &e in old.iter().filter(|&&e| e >= 0) {
                let j = self.probe(e as usize, n);
                self.tables[w][j] = e;
            }
        }
    }

    /// Appends tokens; at `max_tokens` the index is rebuilt from the most recent half.
    pub fn append(&mut self, tokens: &[i32]) {
        for &t in tokens {
            if self.text.len() >= self.max_tokens {
                let keep = self.max_tokens / 2;
                // A fresh copy each time: rebuilds are rare, and keeping it would pin half the cap.
                let window = self.text[self.text.len() - keep..].to_vec();
                self.reset();
                for &w in &window {
                    self.append_one(w);
                }
            }
            self.append_one(t);
        }
    }

    fn append_one(&mut self, t: i32) {
        self.text.push(t);
        let end = self.text.len() - 1;
        for n in self.min_n..=self.max_n.min(end + 1) {
            self.insert_first(end, n);
        }
    }

    /// First occurrence of the length-n suffix if it ends before the last token, else -1.
    fn earlier(&self, n: usize) -> i32 {
        let len = self.text.len();
        if len < n + 1 {
            return -1;
        }
        let e = self.tables[n - self.min_n][self.probe(len - 1, n)];
        if e >= 0 && (e as usize) < len - 1 {
            e
        } else {
            -1
        }
    }

    /// Length of the longest suffix (n in [min_n, max_n]) that occurred earlier, 0 if none.
    pub fn match_len(&self) -> i32 {
        for n in (self.min_n..=self.max_n).rev() {
            if self.earlier(n) >= 0 {
                return n as i32;
            }
        }
        0
    }

    pub fn match_end(&self) -> i32 {
        for n in (self.min_n..=self.max_n).rev() {
            let e = self.earlier(n);
            if e >= 0 {
                return e;
            }
        }
        -1
    }

    /// Branch b continues the b-th distinct first occurrence, longest n first, and is at most
    /// `max(max_len >> b, 1)` tokens long.
    pub fn draft_into(&self, tree: &mut Tree, max_len: i32, max_branches: i32, source: i32) {
        if max_len <= 0 || max_branches <= 0 {
            return;
        }
        let branches = max_branches.min(16) as usize;
        let last = self.text.len() as i32 - 1;
        let mut used = [0i32; 16];
        let mut b = 0usize;
        for n in (self.min_n..=self.max_n).rev() {
            if b >= branches {
                break;
            }
            let e = self.earlier(n);
            if e < 0 || used[..b].contains(&e) {
                continue;
            }
            let take = (max_len >> b).max(1).min(last - e);
            tree.add_chain(&self.text, (e + 1) as usize, take as usize, source);
            used[b] = e;
            b += 1;
        }
    }

    pub fn memory_bytes(&self) -> usize {
        let tables: usize = self.tables.iter().map(|t| t.capacity() * 4).sum();
        tables + 4 * (self.text.capacity() + self.input.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(tokens: &[i32], min_n: usize, max_n: usize, k: i32) -> Vec<i32> {
        let mut g = NgramIndex::new(min_n, max_n, 1 << 20);
        g.append(tokens);
        let mut t = Tree::new();
        t.clear(64);
        g.draft_into(&mut t, k, 1, 0);
        let n = t.finish();
        t.out[..n].to_vec()
    }

    #[test]
    fn table() {
        assert_eq!(draft(&[1, 2, 3, 4, 1, 2, 3], 1, 3, 3), vec![4, 1, 2]);
        assert_eq!(draft(&[1, 2, 3, 4, 1, 2, 3], 1, 3, 10), vec![4, 1, 2, 3]);
        assert_eq!(draft(&[1, 2, 3, 4, 5], 1, 3, 3), Vec::<i32>::new());
        assert_eq!(draft(&[7, 1, 9, 2, 1], 2, 3, 3), Vec::<i32>::new());
        assert_eq!(draft(&[7, 1, 9, 2, 1], 1, 3, 3), vec![9, 2, 1]);
        // the first (earliest) occurrence wins among equally long matches
        assert_eq!(draft(&[5, 1, 2, 5, 3, 5], 1, 2, 1), vec![1]);
    }

    #[test]
    fn match_len_is_longest_in_range() {
        let mut g = NgramIndex::new(2, 4, 1 << 20);
        g.append(&[1, 2, 3, 4, 5, 9, 2, 3, 4, 5]);
        assert_eq!((g.match_len(), g.match_end()), (4, 4));
    }

    #[test]
    fn survives_table_growth_and_window_rebuild() {
        let mut g = NgramIndex::new(1, 3, 64);
        let stream: Vec<i32> = (0..500).map(|i| (i * 7 % 13) as i32).collect();
        g.append(&stream);
        assert!(g.text.len() <= 64);
        assert_eq!(g.match_len(), 3);
    }
}
