import type { ReactNode } from 'react';
import { url } from '../api.js';
import { ConfirmButton, Err, fmtTime, HostLink } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';
import type { Run, RunStep } from '../types.js';

/** The reason a step failed, on sight: its error, else the last lines of its output, else its exit code. */
function reason(s: RunStep): string {
  const text = (s.error ?? s.output ?? '').trim();
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const tail = lines.slice(-3).join(' ⏎ ');
  return tail !== '' ? tail : s.exitCode === null ? 'no output' : `exit ${String(s.exitCode)}`;
}

export function RunPage({ id }: { id: string }): ReactNode {
  const { data, message } = useGet<{ run: Run; steps: RunStep[]; failedHosts: string[] }>(url('/api/v1/runs/{id}', { id }), { refetchMs: 2000 });
  const changes = ['/api/v1/runs', '/api/v1/hosts', '/api/v1/policies'];
  const pause = useAction({ method: 'post', path: '/api/v1/runs/{id}/pause', invalidates: changes });
  const resume = useAction({ method: 'post', path: '/api/v1/runs/{id}/resume', invalidates: changes });
  const cancel = useAction({ method: 'post', path: '/api/v1/runs/{id}/cancel', invalidates: changes });
  if (data === undefined) return <Err e={message} />;
  const { run, steps } = data;
  const done = steps.filter((s) => s.state === 'done').length;
  const hosts = [...new Set(steps.map((s) => s.targetName))];
  const over = ['done', 'cancelled'].includes(run.status);
  return (
    <section>
      <h1 tabIndex={-1}>
        Run {run.pk} of {run.policy}: <span className={`status-${run.status}`}>{run.status}</span>
      </h1>
      <p className="muted">
        started {fmtTime(run.createdAt)} · updated {fmtTime(run.updatedAt)}
        {run.note === null ? null : <> · {run.note}</>}
      </p>
      <p>
        <progress max={steps.length} value={done} aria-label="steps done" /> {done} of {steps.length} steps done
        {data.failedHosts.length > 0 ? <span className="error"> · failed on {data.failedHosts.join(', ')}</span> : null}
      </p>
      {over ? null : (
        <Can role="operator">
          <div className="actions">
            {run.status === 'paused' || run.status === 'halted' ? (
              <button
                type="button"
                onClick={() => {
                  resume.mutate({ params: { id } });
                }}
              >
                Resume
              </button>
            ) : (
              <button
                type="button"
                onClick={() => {
                  pause.mutate({ params: { id } });
                }}
              >
                Pause
              </button>
            )}
            <ConfirmButton
              label="Cancel run"
              confirm="Cancel this run? Steps not begun will not run."
              onConfirm={() => {
                cancel.mutate({ params: { id } });
              }}
            />
          </div>
        </Can>
      )}
      <Err e={pause.error?.message ?? resume.error?.message ?? cancel.error?.message} />
      {hosts.map((h) => {
        const mine = steps.filter((s) => s.targetName === h);
        const failed = mine.filter((s) => s.state === 'failed');
        return (
          <section key={h} className={`run-host${failed.length > 0 ? ' failed' : ''}`} aria-label={`host ${h}`}>
            <h2>
              <HostLink name={h} /> <span className="muted">ring {mine[0]?.ringIndex}</span>
            </h2>
            <ol className="steps">
              {mine.map((s, i) => (
                <li key={i} className={`status-${s.state}`}>
                  <b>{s.kind}</b> {s.state}
                  {s.attempts > 1 ? ` (${String(s.attempts)} tries)` : ''}
                  {s.finishedAt === null ? '' : ` · ${fmtTime(s.finishedAt)}`}
                  {s.state === 'failed' ? <p className="error failure">Why: {reason(s)}</p> : null}
                  {s.output === null || s.output === '' ? null : (
                    <details>
                      <summary>output</summary>
                      <pre tabIndex={0}>{s.output}</pre>
                    </details>
                  )}
                </li>
              ))}
            </ol>
          </section>
        );
      })}
    </section>
  );
}
