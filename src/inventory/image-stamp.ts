/**
 * Which image build a host was made from (issue #7, parity): Bulwark's image builds write
 * `/etc/bulwark-image`, and every collector (SSH, agent, a root tree) reads it back, so the hosts
 * built from an image are known without anyone listing them.
 *
 * ```
 * image=azl3-base
 * build=4
 * view=azl3-prod
 * view_version=12
 * ```
 */
export const IMAGE_STAMP_PATH = '/etc/bulwark-image';

export function formatImageStamp(s: { image: string; build: number; view: string; viewVersion: number }): string {
  return `image=${s.image}\nbuild=${String(s.build)}\nview=${s.view}\nview_version=${String(s.viewVersion)}\n`;
}

/**
 * The `<image>@<build>` a stamp names, or null when there is none or it is not one of ours.
 * @example parseImageStamp('image=azl3-base\nbuild=4\n') // 'azl3-base@4'
 */
export function parseImageStamp(text: string | null | undefined): string | null {
  if (text === null || text === undefined || text.length > 4096) return null;
  const field = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]?.trim();
  const image = field('image');
  const build = field('build');
  if (image === undefined || build === undefined || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(image) || !/^[1-9][0-9]{0,8}$/.test(build)) return null;
  return `${image}@${build}`;
}
