//! Online suffix automaton over a token stream (Blumer et al.; the SAM-Decoding drafter).
//! States hold `len`, `link` and `first_end` (the end index of the first occurrence of the
//! state's strings, so a continuation is read straight from the text). Transitions are edges in
//! flat arrays: a per-state linked list (to copy them when a state is cloned) plus one
//! open-addressing hash on (state, token) for O(1) lookup at any vocabulary size.
//! A cursor tracks the longest suffix of the fed tokens that the automaton contains.
//! Twin of src/drafters/kernels/ts/automaton.ts: both must produce the same arrays and drafts.

use crate::tree::Tree;

const MIN_SLOTS: usize = 16;

pub fn edge_hash(state: i32, token: i32) -> u32 {
    let mut h = (state as u32).wrapping_mul(0x9E37_79B1) ^ (token as u32).wrapping_add(1).wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h
}

pub struct Automaton {
    max_tokens: usize,
    pub text: Vec<i32>,
    pub len: Vec<i32>,
    pub link: Vec<i32>,
    pub first_end: Vec<i32>,
    edge_head: Vec<i32>,
    pub edge_from: Vec<i32>,
    pub edge_token: Vec<i32>,
    pub edge_target: Vec<i32>,
    edge_next: Vec<i32>,
    slots: Vec<i32>,
    pub last: i32,
    pub cursor_state: i32,
    pub cursor_len: i32,
    /// Scratch the host writes tokens into before `append` / `advance` / `extend`.
    pub input: Vec<i32>,
}

impl Automaton {
    /// An empty automaton that keeps at most `max_tokens` tokens of text (see `append`).
    pub fn new(max_tokens: usize) -> Automaton {
        let mut a = Automaton {
            max_tokens: max_tokens.max(2),
            text: Vec::new(),
            len: Vec::new(),
            link: Vec::new(),
            first_end: Vec::new(),
            edge_head: Vec::new(),
            edge_from: Vec::new(),
            edge_token: Vec::new(),
            edge_target: Vec::new(),
            edge_next: Vec::new(),
            slots: Vec::new(),
            last: 0,
            cursor_state: 0,
            cursor_len: 0,
            input: Vec::new(),
        };
        a.reset();
        a
    }

    pub fn reset(&mut self) {
        self.text.clear();
        self.len.clear();
        self.link.clear();
        self.first_end.clear();
        self.edge_head.clear();
        self.edge_from.clear();
        self.edge_token.clear();
        self.edge_target.clear();
        self.edge_next.clear();
        if self.slots.len() < MIN_SLOTS {
            self.slots.resize(MIN_SLOTS, -1);
        }
        for s in self.slots.iter_mut() {
            *s = -1;
        }
        self.new_state(0, -1, -1);
        self.last = 0;
        self.cursor_state = 0;
        self.cursor_len = 0;
    }

    fn new_state(&mut self, len: i32, link: i32, first_end: i32) -> i32 {
        self.len.push(len);
        self.link.push(link);
        self.first_end.push(first_end);
        self.edge_head.push(-1);
        (self.len.len() - 1) as i32
    }

    fn find_edge(&self, state: i32, token: i32) -> i32 {
        let mask = self.slots.len() - 1;
        let mut i = edge_hash(state, token) as usize & mask;
        loop {
            let e = self.slots[i];
            if e < 0 {
                return -1;
            }
            let eu = e as usize;
            if self.edge_from[eu] == state && self.edge_token[eu] == token {
                return e;
            }
            i = (i + 1) & mask;
        }
    }

    fn insert_slot(&mut self, e: i32) {
        let mask = self.slots.len() - 1;
        let eu = e as usize;
        let mut i = edge_hash(self.edge_from[eu], self.edge_token[eu]) as usize & mask;
        while self.slots[i] >= 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = e;
    }

    fn add_edge(&mut self, from: i32, token: i32, target: i32) {
        let e = self.edge_from.len() as i32;
        self.edge_from.push(from);
        self.edge_token.push(token);
        self.edge_target.push(target);
        self.edge_next.push(self.edge_head[from as usize]);
        self.edge_head[from as usize] = e;
        self.index_edge(e);
    }

    /// Puts edge `e` in the hash, doubling it first when it would pass half full.
    fn index_edge(&mut self, e: i32) {
        if (e as usize + 1) * 2 > self.slots.len() {
            let size = self.slots.len() * 2;
            self.slots.clear();
            self.slots.resize(size, -1);
            for old in 0..e {
                self.insert_slot(old);
            }
        }
        self.insert_slot(e);
    }

    /// Adds one token to the automaton's text (the classic online construction).
    fn extend_one(&mut self, token: i32) {
        let pos = self.text.len() as i32;
        self.text.push(token);
        let cur = self.new_state(self.len[self.last as usize] + 1, -1, pos);
        let mut p = self.last;
        while p >= 0 && self.find_edge(p, token) < 0 {
            self.add_edge(p, token, cur);
            p = self.link[p as usize];
        }
        if p < 0 {
            self.link[cur as usize] = 0;
        } else {
            let q = self.edge_target[self.find_edge(p, token) as usize];
            if self.len[p as usize] + 1 == self.len[q as usize] {
                self.link[cur as usize] = q;
            } else {
                let clone = self.new_state(self.len[p as usize] + 1, self.link[q as usize], self.first_end[q as usize]);
                let mut f = self.edge_head[q as usize];
                while f >= 0 {
                    let (t, to) = (self.edge_token[f as usize], self.edge_target[f as usize]);
                    self.add_edge(clone, t, to);
                    f = self.edge_next[f as usize];
                }
                while p >= 0 {
                    let e = self.find_edge(p, token);
                    if e < 0 || self.edge_target[e as usize] != q {
                        break;
                    }
                    self.edge_target[e as usize] = clone;
                    p = self.link[p as usize];
                }
                self.link[q as usize] = clone;
                self.link[cur as usize] = clone;
            }
        }
        self.last = cur;
    }

    /// Moves the cursor to the longest suffix of (matched text + token) the automaton contains.
    fn advance_one(&mut self, token: i32) {
        let mut s = self.cursor_state;
        let mut l = self.cursor_len;
        loop {
            let e = self.find_edge(s, token);
            if e >= 0 {
                s = self.edge_target[e as usize];
                l += 1;
                break;
            }
            if s == 0 {
                l = 0;
                break;
            }
            s = self.link[s as usize];
            l = self.len[s as usize];
        }
        self.cursor_state = s;
        self.cursor_len = l;
    }

    /// Dynamic use: for each token, match it against the text so far, then add it to the text.
    /// The cursor then holds the longest suffix that also occurs earlier. At `max_tokens` the
    /// automaton is rebuilt from the most recent half of its text (amortised O(1) per token).
    pub fn append(&mut self, tokens: &[i32]) {
        for &t in tokens {
            if self.text.len() >= self.max_tokens {
                self.rebuild_from_recent_half();
            }
            self.append_one(t);
        }
    }

    fn append_one(&mut self, t: i32) {
        self.advance_one(t);
        self.extend_one(t);
        // A clone may have taken over the cursor's (shorter) strings: follow it.
        let s = self.cursor_state;
        if s > 0 {
            let up = self.link[s as usize];
            if up >= 0 && self.len[up as usize] >= self.cursor_len {
                self.cursor_state = up;
            }
        }
    }

    fn rebuild_from_recent_half(&mut self) {
        let keep = self.max_tokens / 2;
        // A fresh copy each time: rebuilds are rare, and keeping it would pin half the cap.
        let window = self.text[self.text.len() - keep..].to_vec();
        self.reset();
        for &t in &window {
            self.append_one(t);
        }
    }

    /// Static use: add tokens without tracking a cursor (the caller enforces the cap).
    pub fn extend(&mut self, tokens: &[i32]) {
        for &t in tokens {
            if self.text.len() >= self.max_tokens {
                self.rebuild_from_recent_half();
            }
            self.extend_one(t);
        }
    }

    /// Static use: move the cursor over tokens without adding them.
    pub fn advance(&mut self, tokens: &[i32]) {
        for &t in tokens {
            self.advance_one(t);
        }
    }

    pub fn match_end(&self) -> i32 {
        if self.cursor_len == 0 {
            -1
        } else {
            self.first_end[self.cursor_state as usize]
        }
    }

    /// Inserts continuations of the cursor's match into `tree`: branch b follows the b-th distinct
    /// first occurrence met while shortening the match along suffix links (longest first) and is
    /// at most `max(max_len >> b, 1)` tokens long.
    pub fn draft_into(&self, tree: &mut Tree, max_len: i32, max_branches: i32, min_match: i32, source: i32) {
        if max_len <= 0 || max_branches <= 0 {
            return;
        }
        let n = self.text.len() as i32;
        let min_match = min_match.max(1);
        let branches = max_branches.min(16) as usize;
        let mut used = [0i32; 16];
        let mut b = 0usize;
        let mut s = self.cursor_state;
        let mut l = self.cursor_len;
        while s > 0 && l >= min_match && b < branches {
            let e = self.first_end[s as usize];
            let start = e + 1;
            if start < n && !used[..b].contains(&e) {
                let take = (max_len >> b).max(1).min(n - start);
                tree.add_chain(&self.text, start as usize, take as usize, source);
                used[b] = e;
                b += 1;
            }
            s = self.link[s as usize];
            l = self.len[s as usize];
        }
    }

    /// Prepares to receive a saved automaton: the host then fills text, len, link, first_end
    /// and the edge arrays and calls `import_finish`.
    pub fn import_begin(&mut self, n_tokens: usize, n_states: usize, n_edges: usize, last: i32) {
        self.text.clear();
        self.text.resize(n_tokens, 0);
        for v in [&mut self.len, &mut self.link, &mut self.first_end] {
            v.clear();
            v.resize(n_states, 0);
        }
        for v in [&mut self.edge_from, &mut self.edge_token, &mut self.edge_target] {
            v.clear();
            v.resize(n_edges, 0);
        }
        self.last = last;
        self.cursor_state = 0;
        self.cursor_len = 0;
    }

    /// Rebuilds the edge lists and hash from the edge arrays. Returns false on a duplicate edge.
    pub fn import_finish(&mut self) -> bool {
        let n_states = self.len.len();
        let n_edges = self.edge_from.len();
        self.edge_head.clear();
        self.edge_head.resize(n_states, -1);
        self.edge_next.clear();
        let mut size = MIN_SLOTS;
        while size < 2 * n_edges {
            size *= 2;
        }
        self.slots.clear();
        self.slots.resize(size, -1);
        for e in 0..n_edges {
            let from = self.edge_from[e];
            if self.find_edge(from, self.edge_token[e]) >= 0 {
                return false;
            }
            self.edge_next.push(self.edge_head[from as usize]);
            self.edge_head[from as usize] = e as i32;
            self.insert_slot(e as i32);
        }
        true
    }

    pub fn state_count(&self) -> usize {
        self.len.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_from.len()
    }

    pub fn memory_bytes(&self) -> usize {
        let vecs = [
            &self.text,
            &self.len,
            &self.link,
            &self.first_end,
            &self.edge_head,
            &self.edge_from,
            &self.edge_token,
            &self.edge_target,
            &self.edge_next,
            &self.slots,
            &self.input,
        ];
        vecs.iter().map(|v| v.capacity() * 4).sum()
    }
}

#[cfg(test)]
#[path = "sam_tests.rs"]
mod tests;
