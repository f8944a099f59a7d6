import type { Severity } from './advisory.js';

/**
 * One severity normaliser for every feed format (issue #19: csaf-vex, oval, updateinfo and osv
 * each had their own switch, with drifting words). A vocabulary maps a publisher's lower-case
 * word to Bulwark's scale; a format's parser merges the vocabularies of the publishers it reads
 * (the distros registry gives them per format) over the CVSS v3.1 qualitative ratings.
 */
export type SeverityVocabulary = Readonly<Record<string, Severity>>;

/** CVSS v3.1 specification §5 "Qualitative Severity Rating Scale", without "None". */
export const CVSS_RATINGS: SeverityVocabulary = { critical: 'critical', high: 'high', medium: 'medium', low: 'low' };

/** CVSS's "None" rating, which only some formats carry as a severity word. */
export const CVSS_NONE: SeverityVocabulary = { none: 'none' };

/**
 * The vocabularies as one; a word two vocabularies map differently is a programming error.
 * @example mergeVocabularies(CVSS_RATINGS, { important: 'high' }).important // 'high'
 */
export function mergeVocabularies(...vocabularies: readonly SeverityVocabulary[]): SeverityVocabulary {
  const out: Record<string, Severity> = {};
  for (const v of vocabularies)
    for (const [word, severity] of Object.entries(v)) {
      if (out[word] !== undefined && out[word] !== severity) throw new Error(`severity word "${word}" is both ${out[word]} and ${severity}`);
      out[word] = severity;
    }
  return Object.freeze(out);
}

/**
 * A publisher's severity word on Bulwark's scale, or null when the vocabulary does not have it.
 * The word is compared in lower case as given (callers trim when their format allows padding).
 * @example severityFromWord('Important', mergeVocabularies(CVSS_RATINGS, { important: 'high' })) // 'high'
 */
export function severityFromWord(word: string | null | undefined, vocabulary: SeverityVocabulary): Severity | null {
  if (word === null || word === undefined) return null;
  const w = word.toLowerCase();
  return Object.hasOwn(vocabulary, w) ? (vocabulary[w] ?? null) : null;
}
