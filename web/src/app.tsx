import { useEffect, useState, type ReactNode } from 'react';
import { loginWithPassword, loginWithToken, logout, resume, type Me } from './api.js';
import { AdvisoriesPage, AuditPage, FindingsPage, HostPage, HostsPage, OverviewPage, PoliciesPage, RunPage, RunsPage, SupplyChainPage } from './pages.js';

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = (): void => {
      setHash(window.location.hash);
    };
    window.addEventListener('hashchange', on);
    return () => {
      window.removeEventListener('hashchange', on);
    };
  }, []);
  return hash;
}

function Login({ onIn }: { onIn: (me: Me) => void }): ReactNode {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="login"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        (mode === 'password' ? loginWithPassword(user, secret) : loginWithToken(secret)).then(onIn, (err: unknown) => {
          setError(err instanceof Error ? err.message : String(err));
        });
      }}
    >
      <h1>Bulwark</h1>
      <div className="tabs">
        <button
          type="button"
          className={mode === 'password' ? 'on' : ''}
          onClick={() => {
            setMode('password');
          }}
        >
          User
        </button>
        <button
          type="button"
          className={mode === 'token' ? 'on' : ''}
          onClick={() => {
            setMode('token');
          }}
        >
          API token
        </button>
      </div>
      {mode === 'password' ? (
        <>
          <input
            name="user"
            autoComplete="username"
            placeholder="user"
            value={user}
            onChange={(e) => {
              setUser(e.target.value);
            }}
          />
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            placeholder="password"
            value={secret}
            onChange={(e) => {
              setSecret(e.target.value);
            }}
          />
        </>
      ) : (
        <input
          name="token"
          type="password"
          autoComplete="off"
          placeholder="bwk_…"
          value={secret}
          onChange={(e) => {
            setSecret(e.target.value);
          }}
        />
      )}
      <button type="submit">Log in</button>
      {error === null ? null : <p className="error">{error}</p>}
    </form>
  );
}

const NAV: [string, string, 'viewer' | 'operator'][] = [
  ['#/overview', 'Overview', 'viewer'],
  ['#/hosts', 'Hosts', 'viewer'],
  ['#/findings', 'Findings', 'viewer'],
  ['#/advisories', 'Advisories', 'viewer'],
  ['#/policies', 'Policies', 'viewer'],
  ['#/runs', 'Runs', 'viewer'],
  ['#/supply', 'Supply chain', 'viewer'],
  ['#/audit', 'Audit', 'operator'],
];

export function App(): ReactNode {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const hash = useHash();
  useEffect(() => {
    void resume().then(setMe);
  }, []);
  if (me === undefined) return null;
  if (me === null) return <Login onIn={setMe} />;
  const [, page = 'overview', arg] = hash.split('/').map(decodeURIComponent);
  let body: ReactNode;
  switch (page) {
    case 'hosts':
      body = arg === undefined ? <HostsPage /> : <HostPage name={arg} />;
      break;
    case 'findings':
      body = <FindingsPage />;
      break;
    case 'advisories':
      body = <AdvisoriesPage />;
      break;
    case 'policies':
      body = <PoliciesPage />;
      break;
    case 'runs':
      body = arg === undefined ? <RunsPage /> : <RunPage id={arg} />;
      break;
    case 'audit':
      body = <AuditPage />;
      break;
    case 'supply':
      body = <SupplyChainPage />;
      break;
    default:
      body = <OverviewPage />;
  }
  return (
    <>
      <nav>
        <b>Bulwark</b>
        {NAV.filter(([, , role]) => role === 'viewer' || me.role !== 'viewer').map(([href, label]) => (
          <a key={href} href={href} className={hash.startsWith(href) || (hash === '' && href === '#/overview') ? 'on' : ''}>
            {label}
          </a>
        ))}
        <span className="who">
          {me.name} ({me.role})
        </span>
        <button
          onClick={() => {
            void logout().then(() => {
              setMe(null);
            });
          }}
        >
          Log out
        </button>
      </nav>
      <main>{body}</main>
    </>
  );
}
