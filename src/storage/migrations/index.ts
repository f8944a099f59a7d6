import type { Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../dialect.js';
import { initial } from './0001-initial.js';
import { feeds } from './0002-feeds.js';
import { epochUnreliable } from './0003-epoch-unreliable.js';
import { policies } from './0004-policies.js';
import { audit } from './0005-audit.js';
import { runs } from './0006-runs.js';
import { runSoak } from './0007-run-soak.js';
import { decisions } from './0008-decisions.js';
import { apiTokens } from './0009-api-tokens.js';
import { agents } from './0010-agents.js';
import { leases } from './0011-leases.js';
import { scale } from './0012-scale.js';
import { users } from './0013-users.js';
import { repos } from './0014-repos.js';
import { contentViews } from './0015-content-views.js';
import { images } from './0016-images.js';
import { agentBoot } from './0017-agent-boot.js';
import { targetImage } from './0018-target-image.js';
import { viewPromotions } from './0019-view-promotions.js';
import { findingWithdrawn } from './0020-finding-withdrawn.js';
import { sourceNames } from './0021-source-names.js';
import { agentBootTime } from './0023-agent-boot-time.js';
import { learnedSourceClaims } from './0025-learned-source-claims.js';
import { feedSourceOrigin } from './0026-feed-source-origin.js';
import { findingAcceptanceKept } from './0028-finding-acceptance-kept.js';
import { viewVersionFingerprint } from './0029-view-version-fingerprint.js';
import { viewVersionParts } from './0030-view-version-parts.js';
import { exploitationSignals } from './0034-exploitation-signals.js';
import { feedFreshness } from './0035-feed-freshness.js';
import { advisoryCvssV4 } from './0037-advisory-cvss-v4.js';
import { runStepFacts } from './0044-run-step-facts.js';
import { deadlineProfiles } from './0047-deadline-profiles.js';
import { notifyOutbox } from './0048-notify-outbox.js';
import { fixChannel } from './0050-fix-channel.js';
import { targetStreams } from './0051-target-streams.js';
import { sourceClaimSets } from './0055-source-claim-sets.js';
import { findingsReadIndexes } from './0042-findings-read-indexes.js';
import { findingsRiskOrder } from './0062-findings-risk-order.js';
import { findingsByAdvisory } from './0038-findings-by-advisory.js';
import { findingSourcePackage } from './0060-finding-source-package.js';
import { findingAcceptance } from './0064-finding-acceptance.js';
import { findingsFillfactor } from './0071-findings-fillfactor.js';
import { acceptedUntilPartial } from './0078-accepted-until-partial.js';
import { linksWithoutRowid } from './0081-links-without-rowid.js';
import { findingsAdvisoryCovering } from './0082-findings-advisory-covering.js';
import { hostPageByIdentity } from './0083-host-page-by-identity.js';
import { livePatches } from './0063-live-patches.js';
import { fanOutIndexes } from './0057-fanout-indexes.js';
import { heldDigest } from './0067-held-digest.js';

/**
 * Every migration, in order, listed statically (no directory scanning: the same list works
 * from src/ under tsx and from dist/). Names sort lexically; never rename or reorder one that
 * has shipped — add a new one.
 */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const all: Record<string, Migration> = {
    '0001-initial': initial(dialect),
    '0002-feeds': feeds(dialect),
    '0003-epoch-unreliable': epochUnreliable(),
    '0004-policies': policies(dialect),
    '0005-audit': audit(dialect),
    '0006-runs': runs(dialect),
    '0007-run-soak': runSoak(dialect),
    '0008-decisions': decisions(dialect),
    '0009-api-tokens': apiTokens(dialect),
    '0010-agents': agents(dialect),
    '0011-leases': leases(dialect),
    '0012-scale': scale(),
    '0013-users': users(dialect),
    '0014-repos': repos(dialect),
    '0015-content-views': contentViews(dialect),
    '0016-images': images(dialect),
    '0017-agent-boot': agentBoot(),
    '0018-target-image': targetImage(),
    '0019-view-promotions': viewPromotions(dialect),
    '0020-finding-withdrawn': findingWithdrawn(dialect),
    '0021-source-names': sourceNames(dialect),
    '0023-agent-boot-time': agentBootTime(dialect),
    '0025-learned-source-claims': learnedSourceClaims(dialect),
    '0026-feed-source-origin': feedSourceOrigin(),
    '0028-finding-acceptance-kept': findingAcceptanceKept(dialect),
    '0029-view-version-fingerprint': viewVersionFingerprint(),
    '0030-view-version-parts': viewVersionParts(),
    '0034-exploitation-signals': exploitationSignals(dialect),
    '0035-feed-freshness': feedFreshness(),
    '0037-advisory-cvss-v4': advisoryCvssV4(dialect),
    '0044-run-step-facts': runStepFacts(),
    '0047-deadline-profiles': deadlineProfiles(dialect),
    '0048-notify-outbox': notifyOutbox(dialect),
    '0050-fix-channel': fixChannel(),
    '0051-target-streams': targetStreams(),
    '0055-source-claim-sets': sourceClaimSets(dialect),
    '0042-findings-read-indexes': findingsReadIndexes(),
    '0038-findings-by-advisory': findingsByAdvisory(),
    '0060-finding-source-package': findingSourcePackage(dialect),
    '0064-finding-acceptance': findingAcceptance(dialect),
    '0062-findings-risk-order': findingsRiskOrder(),
    '0063-live-patches': livePatches(dialect),
    '0057-fanout-indexes': fanOutIndexes(),
    '0071-findings-fillfactor': findingsFillfactor(dialect),
    '0067-held-digest': heldDigest(),
    '0078-accepted-until-partial': acceptedUntilPartial(),
    '0081-links-without-rowid': linksWithoutRowid(dialect),
    '0082-findings-advisory-covering': findingsAdvisoryCovering(),
    '0083-host-page-by-identity': hostPageByIdentity(),
  };
  return { getMigrations: () => Promise.resolve(all) };
}
