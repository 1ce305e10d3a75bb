// Login: address -> one-time code -> session (the HttpOnly cookie).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, html } from '../util.js';

export function Login({ onLogin }) {
  const [address, setAddress] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState('address');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [ttl, setTtl] = useState(300);

  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const sendCode = (e) => {
    e.preventDefault();
    run(async () => {
      const r = await api('POST', '/auth/code', { address: address.trim() });
      setTtl(r.expires_in_s);
      setCode('');
      setStep('code');
    });
  };
  const logIn = (e) => {
    e.preventDefault();
    run(async () => {
      const r = await api('POST', '/auth/session', { address: address.trim(), code: code.trim() }, { quiet401: true });
      onLogin(r.user);
    });
  };

  return html`<div class="login">
    <form class="card" onSubmit=${step === 'address' ? sendCode : logIn}>
      <h1>DEC control</h1>
      <p class="muted">Fleet control plane: equipment, requests and approvals.</p>
      ${step === 'address'
        ? html`<label>Mail address or phone number
            <input id="address" name="address" type="text" autocomplete="username" autofocus required
              placeholder="you@example.org or +15551234567"
              value=${address} onInput=${(e) => setAddress(e.target.value)} />
          </label>
          <button id="send-code" class="primary" disabled=${busy || !address.trim()}>Send code</button>`
        : html`<p>A 6-digit code went to <strong>${address}</strong>; it is valid ${Math.round(ttl / 60)} minutes
            and for 5 attempts. <span class="muted">(Single machine: the last line of${' '}<code>login-codes.txt</code>${' '}in
            the data directory.)</span></p>
          <label>Code
            <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
              autofocus required maxlength="16" value=${code} onInput=${(e) => setCode(e.target.value)} />
          </label>
          <button id="log-in" class="primary" disabled=${busy || !code.trim()}>Log in</button>
          <button type="button" class="link" onClick=${() => { setStep('address'); setError(null); }}>
            Use another address</button>`}
      <${ErrorBox} error=${error} />
    </form>
  </div>`;
}
