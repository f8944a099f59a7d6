import { useEffect, useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Link, Route, Switch, useLocation } from 'wouter';
import { loginWithPassword, loginWithToken, logout, resume, type Me, type Role } from './api.js';
import { MeContext } from './session.js';
import { OverviewPage } from './pages/overview.js';
import { HostsPage } from './pages/hosts.js';
import { HostPage } from './pages/host.js';
import { FindingsPage } from './pages/findings.js';
import { AdvisoriesPage } from './pages/advisories.js';
import { AdvisoryPage } from './pages/advisory.js';
import { CvePage } from './pages/cve.js';
import { PoliciesPage } from './pages/policies.js';
import { PlanPage } from './pages/plan.js';
import { RunsPage } from './pages/runs.js';
import { RunPage } from './pages/run.js';
import { FeedsPage } from './pages/feeds.js';
import { AgentsPage } from './pages/agents.js';
import { TokensPage } from './pages/tokens.js';
import { UsersPage } from './pages/users.js';
import { AuditPage } from './pages/audit.js';
import { SupplyChainPage } from './pages/supply-chain.js';
import { NotFoundPage } from './pages/not-found.js';

function Login({ onIn }: { onIn: (me: Me) => void }): ReactNode {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <main>
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
        <div className="tabs" role="group" aria-label="log in with">
          <button
            type="button"
            aria-pressed={mode === 'password'}
            className={mode === 'password' ? 'on' : ''}
            onClick={() => {
              setMode('password');
            }}
          >
            User
          </button>
          <button
            type="button"
            aria-pressed={mode === 'token'}
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
            <label htmlFor="login-user">User</label>
            <input
              id="login-user"
              name="user"
              autoComplete="username"
              value={user}
              onChange={(e) => {
                setUser(e.target.value);
              }}
            />
            <label htmlFor="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              value={secret}
              onChange={(e) => {
                setSecret(e.target.value);
              }}
            />
          </>
        ) : (
          <>
            <label htmlFor="login-token">API token</label>
            <input
              id="login-token"
              name="token"
              type="password"
              autoComplete="off"
              placeholder="bwk_…"
              value={secret}
              onChange={(e) => {
                setSecret(e.target.value);
              }}
            />
          </>
        )}
        <button type="submit">Log in</button>
        {error === null ? null : (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const NAV: [string, string, Role][] = [
  ['/', 'Overview', 'viewer'],
  ['/hosts', 'Hosts', 'viewer'],
  ['/findings', 'Findings', 'viewer'],
  ['/advisories', 'Advisories', 'viewer'],
  ['/policies', 'Policies', 'viewer'],
  ['/runs', 'Runs', 'viewer'],
  ['/feeds', 'Feeds', 'viewer'],
  ['/agents', 'Agents', 'viewer'],
  ['/supply', 'Supply chain', 'viewer'],
  ['/audit', 'Audit', 'operator'],
  ['/tokens', 'Tokens', 'admin'],
  ['/users', 'Users', 'admin'],
];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

type Theme = 'light' | 'dark';
function useTheme(): [Theme, () => void] {
  const initial = (): Theme => {
    const saved = localStorage.getItem('bulwark-theme');
    if (saved === 'light' || saved === 'dark') return saved;
    return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  };
  const [theme, setTheme] = useState<Theme>(initial);
  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
  }, [theme]);
  return [
    theme,
    () => {
      const next = theme === 'dark' ? 'light' : 'dark';
      localStorage.setItem('bulwark-theme', next);
      setTheme(next);
    },
  ];
}

function Shell({ me, onOut }: { me: Me; onOut: () => void }): ReactNode {
  const [location] = useLocation();
  const [theme, toggle] = useTheme();
  useEffect(() => {
    // A new page: focus its heading, so a screen reader announces where the user is.
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [location]);
  return (
    <MeContext.Provider value={me}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="main">
          <b>Bulwark</b>
          {NAV.filter(([, , role]) => RANK[me.role] >= RANK[role]).map(([href, label]) => {
            const on = href === '/' ? location === '/' : location.startsWith(href);
            return (
              <Link key={href} href={href} className={on ? 'on' : ''} aria-current={on ? 'page' : undefined}>
                {label}
              </Link>
            );
          })}
          <span className="who">
            {me.name} ({me.role})
          </span>
          <button type="button" onClick={toggle} aria-pressed={theme === 'dark'}>
            {theme === 'dark' ? 'Light mode' : 'Dark mode'}
          </button>
          <button
            type="button"
            onClick={() => {
              void logout().then(onOut);
            }}
          >
            Log out
          </button>
        </nav>
      </header>
      <main id="main">
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/hosts" component={HostsPage} />
          <Route path="/hosts/:name">{(p) => <HostPage name={p.name} />}</Route>
          <Route path="/findings" component={FindingsPage} />
          <Route path="/advisories" component={AdvisoriesPage} />
          <Route path="/advisories/:source/:id">{(p) => <AdvisoryPage source={p.source} id={p.id} />}</Route>
          <Route path="/cves/:cve">{(p) => <CvePage cve={p.cve} />}</Route>
          <Route path="/policies" component={PoliciesPage} />
          <Route path="/policies/:name">{(p) => <PlanPage name={p.name} />}</Route>
          <Route path="/runs" component={RunsPage} />
          <Route path="/runs/:id">{(p) => <RunPage id={p.id} />}</Route>
          <Route path="/feeds" component={FeedsPage} />
          <Route path="/agents" component={AgentsPage} />
          <Route path="/supply" component={SupplyChainPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/tokens" component={TokensPage} />
          <Route path="/users" component={UsersPage} />
          <Route component={NotFoundPage} />
        </Switch>
      </main>
    </MeContext.Provider>
  );
}

const client = new QueryClient({ defaultOptions: { queries: { staleTime: 5_000, retry: false, refetchOnWindowFocus: false } } });

export function App(): ReactNode {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    void resume().then(setMe);
  }, []);
  if (me === undefined) return null;
  return (
    <QueryClientProvider client={client}>
      {me === null ? (
        <Login onIn={setMe} />
      ) : (
        <Shell
          me={me}
          onOut={() => {
            client.clear();
            setMe(null);
          }}
        />
      )}
    </QueryClientProvider>
  );
}
