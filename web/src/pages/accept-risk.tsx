import { useState, type ReactNode } from 'react';
import { Err, fmtTime, ReasonUntilFields } from '../components.js';
import { useAction } from '../query.js';
import { useCan } from '../session.js';
import type { Finding } from '../types.js';

const CHANGES = ['/api/v1/hosts', '/api/v1/findings', '/api/v1/overview', '/api/v1/policies'];

/**
 * Accept the risk of one finding (an operator's decision, with a reason and an optional expiry),
 * or revoke an acceptance: `bulwark findings accept | unaccept` for this host, advisory and
 * package. Viewers see who accepted what, not the buttons.
 */
export function AcceptRisk({ f }: { f: Finding }): ReactNode {
  const can = useCan('operator');
  const accept = useAction({ method: 'post', path: '/api/v1/findings/accept', invalidates: CHANGES });
  const revoke = useAction({ method: 'post', path: '/api/v1/findings/unaccept', invalidates: CHANGES });
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const selection = { hosts: [f.targetName], advisories: [f.advisoryId], packages: [f.package] };
  const what = `${f.advisoryId} ${f.package}`;
  if (f.status === 'accepted')
    return (
      <span>
        accepted by {f.acceptedBy ?? 'not recorded'}: “{f.reason ?? ''}”{' '}
        {f.acceptedUntil === null || f.acceptedUntil === undefined ? '(no expiry)' : `until ${fmtTime(f.acceptedUntil)}`}{' '}
        {can ? (
          <button
            type="button"
            disabled={revoke.isPending}
            onClick={() => {
              revoke.mutate({ body: selection });
            }}
          >
            Revoke
          </button>
        ) : null}
        <Err e={revoke.error?.message} />
      </span>
    );
  if (!can || (f.status !== 'open' && f.status !== 'no-fix')) return null;
  if (!open)
    return (
      <button
        type="button"
        onClick={() => {
          setOpen(true);
        }}
      >
        Accept risk
      </button>
    );
  return (
    <form
      className="inline-form"
      aria-label={`accept risk of ${what}`}
      onSubmit={(e) => {
        e.preventDefault();
        accept.mutate(
          { body: { ...selection, reason: reason.trim(), ...(until !== '' ? { until } : {}) } },
          {
            onSuccess: () => {
              setOpen(false);
              setReason('');
              setUntil('');
            },
          },
        );
      }}
    >
      <ReasonUntilFields reason={reason} setReason={setReason} until={until} setUntil={setUntil} untilLabel="Until" />
      <button type="submit" disabled={reason.trim() === '' || accept.isPending}>
        Accept
      </button>{' '}
      <button
        type="button"
        onClick={() => {
          setOpen(false);
        }}
      >
        Cancel
      </button>
      <Err e={accept.error?.message} />
    </form>
  );
}
