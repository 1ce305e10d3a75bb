// Personnel: users (role, department, enabled), adding one, changing a role or
// department, disabling (which ends the user's sessions); departments.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useEvents } from '../events.js';
import { Badge, ErrorBox, atLeast, formatTime, html, kRoles, useLoad, useThrottled } from '../util.js';

function UserRow({ u, me, departments, onChanged, onError }) {
  const [busy, setBusy] = useState(false);
  const patch = async (body) => {
    setBusy(true);
    try {
      await api('PATCH', `/users/${u.id}`, body);
      onChanged();
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
    }
  };
  const self = u.id === me.id;
  // A leader manages operators; an admin anyone (the API has the last word).
  const editable = !self && (atLeast(me, 'admin') || u.role === 'operator');
  return html`<tr data-id=${u.id} class=${u.disabled ? 'disabled' : ''}>
    <td class="num">${u.id}</td>
    <td>${u.address}</td>
    <td>${u.name}</td>
    <td>${editable && atLeast(me, 'admin')
      ? html`<select value=${u.role} disabled=${busy} onChange=${(e) => patch({ role: e.target.value })}>
          ${kRoles.map((r) => html`<option>${r}</option>`)}</select>`
      : html`<${Badge} value=${u.role} />`}</td>
    <td>${editable
      ? html`<select value=${u.department} disabled=${busy} onChange=${(e) => patch({ department: e.target.value })}>
          <option value="">—</option>${departments.map((d) => html`<option>${d.name}</option>`)}</select>`
      : u.department || '—'}</td>
    <td>${u.disabled ? html`<${Badge} value="disabled" />` : html`<${Badge} value="enabled" />`}</td>
    <td class="time">${formatTime(u.created_at)}</td>
    <td class="actions">${editable
      ? u.disabled
        ? html`<button disabled=${busy} onClick=${() => patch({ disabled: false })}>Enable</button>`
        : html`<button class="danger" disabled=${busy}
            onClick=${() => confirm(`Disable ${u.address}? Their sessions end now.`) && patch({ disabled: true })}>Disable</button>`
      : null}</td>
  </tr>`;
}

function AddUser({ me, departments, onAdded }) {
  const [f, setF] = useState({ address: '', name: '', role: 'operator', department: '' });
  const [error, setError] = useState(null);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const body = { address: f.address.trim(), name: f.name.trim(), role: f.role };
      if (f.department) body.department = f.department;
      await api('POST', '/users', body);
      setF({ ...f, address: '', name: '' });
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card" onSubmit=${submit}>
    <h3>Add a user</h3>
    <div class="row">
      <label>Address<input required value=${f.address} onInput=${set('address')} placeholder="mail or +phone" /></label>
      <label>Name<input value=${f.name} onInput=${set('name')} /></label>
      <label>Role<select value=${f.role} onChange=${set('role')}>
        ${(atLeast(me, 'admin') ? kRoles : ['operator']).map((r) => html`<option>${r}</option>`)}</select></label>
      <label>Department<select value=${f.department} onChange=${set('department')}>
        <option value="">—</option>${departments.map((d) => html`<option>${d.name}</option>`)}</select></label>
      <button class="primary">Add</button>
    </div>
    <${ErrorBox} error=${error} />
  </form>`;
}

function Departments({ me, list }) {
  const [name, setName] = useState('');
  const [error, setError] = useState(null);
  const add = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/departments', { name: name.trim() });
      setName('');
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return html`<div class="card">
    <h3>Departments</h3>
    <ul class="tags">${(list.data?.items || []).map((d) => html`<li>${d.name}</li>`)}</ul>
    ${atLeast(me, 'admin')
      ? html`<form class="row" onSubmit=${add}>
          <input required maxlength="100" placeholder="New department" value=${name} onInput=${(e) => setName(e.target.value)} />
          <button>Add</button></form>`
      : null}
    <${ErrorBox} error=${error} />
  </div>`;
}

export function People({ user }) {
  const [role, setRole] = useState('');
  const [department, setDepartment] = useState('');
  const [error, setError] = useState(null);
  const users = useLoad(() => api('GET', '/users' + query({ role, department })), [role, department]);
  const departments = useLoad(() => api('GET', '/departments'), []);
  const reload = useThrottled(() => {
    users.reload();
    departments.reload();
  }, 300);
  useEvents(['user.', 'department.'], reload);
  const deps = departments.data?.items || [];
  const items = users.data?.items || [];
  return html`<section>
    <div class="page-head"><h2>Personnel</h2></div>
    <div class="two">
      <${AddUser} me=${user} departments=${deps} onAdded=${users.reload} />
      <${Departments} me=${user} list=${departments} />
    </div>
    <div class="page-head">
      <h3>Users</h3>
      <div class="filters">
        <select value=${role} onChange=${(e) => setRole(e.target.value)}>
          <option value="">any role</option>${kRoles.map((r) => html`<option>${r}</option>`)}</select>
        <select value=${department} onChange=${(e) => setDepartment(e.target.value)}>
          <option value="">any department</option>${deps.map((d) => html`<option>${d.name}</option>`)}</select>
      </div>
    </div>
    <${ErrorBox} error=${error || users.error} onClose=${error ? () => setError(null) : null} />
    <table class="grid" id="users">
      <thead><tr><th>id</th><th>address</th><th>name</th><th>role</th><th>department</th><th>status</th><th>added</th><th></th></tr></thead>
      <tbody>${items.map((u) => html`<${UserRow} key=${u.id} u=${u} me=${user} departments=${deps}
        onChanged=${users.reload} onError=${setError} />`)}</tbody>
    </table>
  </section>`;
}
