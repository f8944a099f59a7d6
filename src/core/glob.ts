/**
 * A shell-style glob as a whole-string RegExp: `*` any run of characters, `?` one character,
 * everything else literal (package names and versions, host patterns).
 * @example globPattern('kernel*').test('kernel-core') // true
 */
export function globPattern(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}
