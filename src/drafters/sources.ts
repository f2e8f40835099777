/** Which proposer a draft node came from (`DraftTree.sources` holds the index into this list). */
export const DRAFT_SOURCES = ["recycle", "sam", "sam-static", "ngram", "sam-history"] as const;
export type DraftSource = (typeof DRAFT_SOURCES)[number];

export const SOURCE = { recycle: 0, sam: 1, samStatic: 2, ngram: 3, samHistory: 4 } as const;
