//! A draft tree under construction: nodes are appended with dedupe by (parent, token), so two
//! proposers that guess the same root-to-node path share its nodes and nothing is verified twice.
//! `finish` reorders the nodes breadth-first (stable by depth) into one flat output buffer. A node
//! that a second source proposes too is marked agreed (its source stays the first one's).
//! Twin of src/drafters/tree-builder.ts: both must produce the same trees.

pub struct Tree {
    capacity: usize,
    tokens: Vec<i32>,
    parents: Vec<i32>,
    depths: Vec<i32>,
    sources: Vec<i32>,
    /// 1 where a source other than the node's own proposed it too.
    agreed: Vec<i32>,
    /// Slot 0 is the implicit root, slot i + 1 is node i; -1 = no child yet.
    first_child: Vec<i32>,
    next_sibling: Vec<i32>,
    /// After `finish`: tokens | parents | depths | sources | agreed, `size` each.
    pub out: Vec<i32>,
    scratch: Vec<i32>,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    pub fn new() -> Tree {
        let mut t = Tree {
            capacity: 0,
            tokens: Vec::new(),
            parents: Vec::new(),
            depths: Vec::new(),
            sources: Vec::new(),
            agreed: Vec::new(),
            first_child: Vec::new(),
            next_sibling: Vec::new(),
            out: Vec::new(),
            scratch: Vec::new(),
        };
        t.clear(0);
        t
    }

    /// Empties the tree; at most `capacity` nodes may be added until the next clear.
    pub fn clear(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.tokens.clear();
        self.parents.clear();
        self.depths.clear();
        self.sources.clear();
        self.agreed.clear();
        self.next_sibling.clear();
        self.first_child.clear();
        self.first_child.push(-1);
    }

    pub fn size(&self) -> usize {
        self.tokens.len()
    }

    pub fn token(&self, node: i32) -> i32 {
        self.tokens[node as usize]
    }

    /// The node for `token` under `parent` (-1 = root): the existing one if that path is already
    /// in the tree (marked agreed when `source` is another), else a new one; -1 when a new node
    /// is needed but the tree is full.
    pub fn add(&mut self, parent: i32, token: i32, source: i32) -> i32 {
        let slot = (parent + 1) as usize;
        let mut c = self.first_child[slot];
        while c >= 0 {
            if self.tokens[c as usize] == token {
                if self.sources[c as usize] != source {
                    self.agreed[c as usize] = 1;
                }
                return c;
            }
            c = self.next_sibling[c as usize];
        }
        if self.tokens.len() >= self.capacity {
            return -1;
        }
        let node = self.tokens.len() as i32;
        let depth = if parent < 0 { 1 } else { self.depths[parent as usize] + 1 };
        self.tokens.push(token);
        self.parents.push(parent);
        self.depths.push(depth);
        self.sources.push(source);
        self.agreed.push(0);
        self.next_sibling.push(self.first_child[slot]);
        self.first_child[slot] = node;
        self.first_child.push(-1);
        node
    }

    /// Adds `stream[start..start + len]` as a path under the root; stops at a negative token
    /// (a document separator) or when the tree is full.
    pub fn add_chain(&mut self, stream: &[i32], start: usize, len: usize, source: i32) {
        let mut parent = -1;
        for &token in &stream[start..start + len] {
            if token < 0 {
                break;
            }
            let node = self.add(parent, token, source);
            if node < 0 {
                break;
            }
            parent = node;
        }
    }

    /// Writes the tree breadth-first into `out` and returns its size.
    pub fn finish(&mut self) -> usize {
        let n = self.tokens.len();
        let max_depth = self.depths.iter().copied().max().unwrap_or(0) as usize;
        // Counting sort by depth, stable, so insertion order is kept within a level.
        let offsets = &mut self.scratch;
        offsets.clear();
        offsets.resize(max_depth + 2 + n, 0);
        for &d in &self.depths {
            offsets[d as usize + 1] += 1;
        }
        for d in 1..=max_depth + 1 {
            offsets[d] += offsets[d - 1];
        }
        let base = max_depth + 2;
        for i in 0..n {
            let d = self.depths[i] as usize;
            offsets[base + i] = offsets[d];
            offsets[d] += 1;
        }
        self.out.clear();
        self.out.resize(5 * n, 0);
        for i in 0..n {
            let at = offsets[base + i] as usize;
            let p = self.parents[i];
            self.out[at] = self.tokens[i];
            self.out[n + at] = if p < 0 { -1 } else { offsets[base + p as usize] };
            self.out[2 * n + at] = self.depths[i];
            self.out[3 * n + at] = self.sources[i];
            self.out[4 * n + at] = self.agreed[i];
        }
        n
    }

    pub fn memory_bytes(&self) -> usize {
        4 * (self.tokens.capacity()
            + self.parents.capacity()
            + self.depths.capacity()
            + self.sources.capacity()
            + self.agreed.capacity()
            + self.first_child.capacity()
            + self.next_sibling.capacity()
            + self.out.capacity()
            + self.scratch.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupes_by_parent_and_token() {
        let mut t = Tree::new();
        t.clear(10);
        let a = t.add(-1, 5, 0);
        let b = t.add(a, 6, 0);
        assert_eq!(t.add(-1, 5, 1), a);
        assert_eq!(t.add(a, 6, 1), b);
        assert_eq!(t.add(-1, 6, 1), 2);
        assert_eq!(t.size(), 3);
    }

    #[test]
    fn respects_capacity_but_still_finds_existing_nodes() {
        let mut t = Tree::new();
        t.clear(1);
        assert_eq!(t.add(-1, 1, 0), 0);
        assert_eq!(t.add(-1, 2, 0), -1);
        assert_eq!(t.add(-1, 1, 0), 0);
    }

    #[test]
    fn finish_is_breadth_first_and_remaps_parents() {
        let mut t = Tree::new();
        t.clear(10);
        t.add_chain(&[1, 2, 3], 0, 3, 1); // depth 1, 2, 3
        let r = t.add(-1, 9, 0); // depth 1, inserted last
        t.add(r, 8, 0);
        let n = t.finish();
        assert_eq!(n, 5);
        let (tokens, parents, depths) = (&t.out[0..5], &t.out[5..10], &t.out[10..15]);
        assert_eq!(tokens, &[1, 9, 2, 8, 3]);
        assert_eq!(parents, &[-1, -1, 0, 1, 2]);
        assert_eq!(depths, &[1, 1, 2, 2, 3]);
        assert_eq!(&t.out[15..20], &[1, 0, 1, 0, 1]);
        assert_eq!(&t.out[20..25], &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn marks_a_node_another_source_proposes_too() {
        let mut t = Tree::new();
        t.clear(10);
        let a = t.add(-1, 5, 0);
        t.add(a, 6, 0);
        t.add(-1, 7, 1);
        t.add(-1, 5, 0); // same source again: not agreed
        t.add(-1, 7, 2); // another source
        assert_eq!(t.finish(), 3);
        assert_eq!(&t.out[0..3], &[5, 7, 6]);
        assert_eq!(&t.out[9..12], &[0, 1, 0]); // sources: the first adder's
        assert_eq!(&t.out[12..15], &[0, 1, 0]);
    }

    #[test]
    fn chain_stops_at_separator() {
        let mut t = Tree::new();
        t.clear(10);
        t.add_chain(&[4, -1, 5], 0, 3, 0);
        assert_eq!(t.size(), 1);
    }
}
