import { useState, type ReactNode } from 'react';
import { url } from '../api.js';
import { Err, Field, fmtTime, ReasonUntilFields } from '../components.js';
import { useAction, useGet } from '../query.js';
import { useCan } from '../session.js';
import type { Decision } from '../types.js';

const CHANGES = ['/api/v1/decisions', '/api/v1/policies', '/api/v1/overview'];

/**
 * Approve or hold an advisory under a policy (an operator's decision, with a reason; a hold with
 * an expiry), and lift what is in force. Viewers see the decisions, not the buttons.
 */
export function Decide({ advisory, policy }: { advisory: string; policy?: string }): ReactNode {
  const can = useCan('operator');
  const policies = useGet<{ items: { name: string }[] }>(policy === undefined ? url('/api/v1/policies') : null);
  const inForce = useGet<{ items: Decision[] }>(url('/api/v1/decisions', {}, { policy }));
  const decide = useAction({ method: 'post', path: '/api/v1/decisions', invalidates: CHANGES });
  const revoke = useAction({ method: 'delete', path: '/api/v1/decisions', invalidates: CHANGES });
  const [chosen, setChosen] = useState('');
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const mine = (inForce.data?.items ?? []).filter((d) => d.advisoryId === advisory);
  const target = policy ?? (chosen === '' ? policies.data?.items[0]?.name : chosen);
  return (
    <div className="decide" aria-label={`decisions on ${advisory}`} role="group">
      {mine.map((d) => (
        <p key={`${d.policy}${d.kind}`} className={d.kind === 'hold' ? 'held' : 'approved'}>
          {d.kind === 'hold' ? 'Held' : 'Approved'} under {d.policy} by {d.actor}: “{d.reason}”{d.until === null ? '' : ` until ${fmtTime(d.until)}`}{' '}
          {can ? (
            <button
              type="button"
              onClick={() => {
                revoke.mutate({ query: { policy: d.policy, advisory, kind: d.kind } });
              }}
            >
              {d.kind === 'hold' ? 'Lift hold' : 'Withdraw approval'}
            </button>
          ) : null}
        </p>
      ))}
      {can && target !== undefined ? (
        <form
          className="inline-form"
          aria-label={`approve or hold ${advisory}`}
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          {policy === undefined ? (
            <Field label="Policy">
              {(id) => (
                <select
                  id={id}
                  value={target}
                  onChange={(e) => {
                    setChosen(e.target.value);
                  }}
                >
                  {policies.data?.items.map((p) => (
                    <option key={p.name}>{p.name}</option>
                  ))}
                </select>
              )}
            </Field>
          ) : null}
          <ReasonUntilFields reason={reason} setReason={setReason} until={until} setUntil={setUntil} untilLabel="Hold until" />
          <button
            type="button"
            disabled={reason.trim() === ''}
            onClick={() => {
              decide.mutate(
                { body: { policy: target, advisory, kind: 'approve', reason: reason.trim() } },
                {
                  onSuccess: () => {
                    setReason('');
                  },
                },
              );
            }}
          >
            Approve
          </button>
          <button
            type="button"
            disabled={reason.trim() === ''}
            onClick={() => {
              decide.mutate(
                { body: { policy: target, advisory, kind: 'hold', reason: reason.trim(), ...(until !== '' ? { until } : {}) } },
                {
                  onSuccess: () => {
                    setReason('');
                    setUntil('');
                  },
                },
              );
            }}
          >
            Hold
          </button>
        </form>
      ) : null}
      <Err e={decide.error?.message ?? revoke.error?.message} />
    </div>
  );
}
