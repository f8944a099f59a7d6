import { almalinux } from './almalinux/index.js';
import { azurelinux } from './azurelinux/index.js';
import { centos } from './centos/index.js';
import { debian } from './debian/index.js';
import { fedora } from './fedora/index.js';
import { mariner } from './mariner/index.js';
import { ol } from './ol/index.js';
import { rhel } from './rhel/index.js';
import { rocky } from './rocky/index.js';
import { ubuntu } from './ubuntu/index.js';
import type { DistroDescriptor } from './types.js';

/**
 * Every distribution Bulwark knows, one line each (Renovate's `lib/modules/*\/api.ts`). A new
 * distribution is a folder `src/distros/<id>/` with an `index.ts` exporting its descriptor, and
 * one line here; registry.ts answers every question the rest of the code asks about them. The
 * order is the lifecycle catalog's (`bulwark lifecycle`).
 */
export const DISTROS: readonly DistroDescriptor[] = [mariner, azurelinux, fedora, rhel, almalinux, rocky, centos, ol, ubuntu, debian];
