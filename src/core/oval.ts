/**
 * An OVAL definition's logic, kept as the feed wrote it, so that the matcher's `--oval-strict`
 * mode can evaluate it literally as an OVAL interpreter does (OVAL 5.11 Language
 * Specification §5.3.3 criteria, §5.3.4 OperatorEnumeration; oval-definitions-schema
 * CheckEnumeration / ExistenceEnumeration), next to the normalised fixes derived from it.
 */
export type OvalOperator = 'AND' | 'OR' | 'ONE' | 'XOR';

export type OvalCriteria =
  | { kind: 'criteria'; operator: OvalOperator; negate: boolean; children: OvalCriteria[] }
  | { kind: 'criterion'; negate: boolean; test: OvalTest }
  /**
   * An `extend_definition`: another definition (a platform check such as "RHEL 9 is installed"),
   * with that definition's criteria inlined when the document has it (absent otherwise: an
   * evaluator must then answer "unknown", as OVAL does for a missing reference).
   */
  | { kind: 'extend'; negate: boolean; definition: string; comment: string | null; criteria?: OvalCriteria };

export type OvalStateOperation = 'equals' | 'not equal' | 'less than' | 'less than or equal' | 'greater than' | 'greater than or equal' | 'pattern match';

export interface OvalState {
  /** `evr` (rpm `evr_string` or `debian_evr_string`), `version`, `release`, `arch`, `signature_keyid`, `os_release` (uname). */
  field: string;
  datatype: string | null;
  operation: OvalStateOperation;
  value: string;
}

export interface OvalTest {
  id: string;
  /** `rpminfo_test`, `dpkginfo_test`, `uname_test`, `rpmverifyfile_test`, `textfilecontent54_test`, … */
  type: string;
  comment: string | null;
  /** CheckEnumeration: all | at least one | none satisfy | only one. */
  check: string;
  /** ExistenceEnumeration; OVAL's default is `at_least_one_exists`. */
  checkExistence: string;
  /** Package names the object selects (a `constant_variable` expanded); empty for non-package tests. */
  names: string[];
  /**
   * The `operation` of the object's `<name>` (OVAL EntityObjectStringType: `pattern match` makes
   * each of `names` a regular expression, MITRE's test content uses `^r.m$`); absent means
   * `equals`. Unknown operations are kept as written so that an evaluator can refuse them.
   */
  nameOperation?: string;
  /** Every state, each a list of field conditions that must all hold. */
  states: OvalState[][];
}
