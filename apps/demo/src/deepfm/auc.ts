/**
 * Area under the ROC curve by ranks (the Mann-Whitney U statistic): the probability that a random
 * positive scores above a random negative, a tie counting one half. Scores are ranked once
 * (O(n log n)); tied scores share the average of their ranks, which is what gives a tie its half.
 *
 * `labels`: 1 (positive) or 0 (negative); anything else is an error, as is a length mismatch, a NaN
 * score, or a set without both classes (the AUC is undefined there).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`auc: ${n} scores but ${labels.length} labels`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (l !== 0 && l !== 1) throw new Error(`auc: labels[${i}] = ${l}, expected 0 or 1`);
    if (Number.isNaN(scores[i]!)) throw new Error(`auc: scores[${i}] is NaN`);
    positives += l;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `auc: needs both classes, got ${positives} positives and ${negatives} negatives`,
    );
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Sum of the positives' ranks (1-based), each tie group at its average rank.
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) rankSum += labels[order[k]!]! * averageRank;
    start = end;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
