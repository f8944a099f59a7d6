import { describe, expect, it } from 'vitest';
import { formatImageStamp, parseImageStamp } from './image-stamp.js';

describe('/etc/bulwark-image', () => {
  it('reads back what an image build writes', () => {
    expect(parseImageStamp(formatImageStamp({ image: 'azl3-base', build: 4, view: 'azl3-prod', viewVersion: 12 }))).toBe('azl3-base@4');
  });

  it.each([
    ['', null],
    ['image=azl3-base\n', null],
    ['image=Azl3 Base\nbuild=4\n', null],
    ['image=azl3-base\nbuild=0\n', null],
    ['image=azl3-base\nbuild=4; reboot\n', null],
    [`image=azl3-base\nbuild=4\n${'#'.repeat(5000)}`, null],
  ])('%#: refuses what is not a stamp of ours (%j)', (text, want) => {
    expect(parseImageStamp(text)).toBe(want);
  });
});
