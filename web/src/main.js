// The dashboard of `dec control` (docs/dashboard.md): the shell (session,
// navigation, live status) and a page per path, routed in the browser.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthenticatedHandler } from './api.js';
import { connectEvents, disconnectEvents, setClosedHandler, useEventStatus } from './events.js';
import { atLeast, html } from './util.js';
import { navigate, usePath } from './router.js';
import { Login } from './pages/login.js';
import { Equipment } from './pages/equipment.js';
import { Approvals } from './pages/approvals.js';
import { Requests } from './pages/requests.js';
import { Stats } from './pages/stats.js';
import { People } from './pages/people.js';
import { Audit } from './pages/audit.js';

const kPages = [
  { path: '/approvals', title: 'Approvals', role: 'leader', page: Approvals },
  { path: '/equipment', title: 'Equipment', role: 'leader', page: Equipment },
  { path: '/requests', title: 'Requests', role: 'operator', page: Requests },
  { path: '/stats', title: 'Statistics', role: 'operator', page: Stats },
  { path: '/people', title: 'Personnel', role: 'leader', page: People },
  { path: '/audit', title: 'Audit log', role: 'leader', page: Audit },
];

// Same-origin links change the page without a reload.
function onLinkClick(e) {
  const a = e.target.closest && e.target.closest('a[href^="/"]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
}

function Header({ user, path, onLogout }) {
  const live = useEventStatus();
  return html`<header class="top">
    <a class="brand" href="/">DEC control</a>
    <nav>
      ${kPages.filter((p) => atLeast(user, p.role)).map(
        (p) => html`<a href=${p.path} class=${path.startsWith(p.path) ? 'active' : ''}>${p.title}</a>`,
      )}
    </nav>
    <span class=${'live live-' + live} title="server-sent events from /api/v1/events">${live === 'live' ? 'live' : live}</span>
    <span class="who">${user.name || user.address} <span class="role">${user.role}</span></span>
    <button class="link" onClick=${onLogout}>Log out</button>
  </header>`;
}

// Whether this browser logged in and has not logged out since: a hint, not a
// secret (the session itself is the HttpOnly cookie), so that a fresh visit
// shows the login page without a call that can only answer 401.
const kHint = 'dec.logged-in';
const hint = {
  get: () => localStorage.getItem(kHint) === '1',
  set: (on) => (on ? localStorage.setItem(kHint, '1') : localStorage.removeItem(kHint)),
};

function App() {
  const path = usePath();
  const [user, setUser] = useState(undefined); // undefined: not known yet; null: logged out

  const loggedOut = () => {
    hint.set(false);
    setUser(null);
  };
  useEffect(() => {
    setUnauthenticatedHandler(loggedOut);
    // The stream ended with an HTTP error: a 401 here logs out; else retry.
    setClosedHandler(() => api('GET', '/me').then(() => setTimeout(connectEvents, 5000), () => {}));
    if (!hint.get()) return loggedOut();
    api('GET', '/me', undefined, { quiet401: true }).then(setUser, loggedOut);
  }, []);
  useEffect(() => {
    if (user) connectEvents();
    else disconnectEvents();
  }, [!!user]);

  if (user === undefined) return html`<div class="boot">Loading…</div>`;
  if (!user) {
    return html`<${Login} onLogin=${(u) => {
      hint.set(true);
      setUser(u);
      if (path === '/' || path === '/login') navigate(atLeast(u, 'leader') ? '/approvals' : '/requests');
    }} />`;
  }
  const logout = async () => {
    try {
      await api('DELETE', '/auth/session');
    } catch {
      /* the session is gone either way */
    }
    loggedOut();
    navigate('/login');
  };
  const allowed = kPages.filter((p) => atLeast(user, p.role));
  const current = allowed.find((p) => path.startsWith(p.path));
  if (!current) {
    // "/", "/login" or a page this role does not have: the role's first page.
    setTimeout(() => navigate(allowed[0].path), 0);
    return null;
  }
  const Page = current.page;
  document.title = `${current.title} · DEC control`;
  return html`<div class="shell" onClick=${onLinkClick}>
    <${Header} user=${user} path=${path} onLogout=${logout} />
    <main><${Page} user=${user} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
