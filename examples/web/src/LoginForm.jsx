import { useState } from 'react';

/** Renders the login form of the first party's own login, which the backend proxy serves. */
export default function LoginForm({ proxy, onLogin }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await proxy.login(username, password));
    } catch (loginError) {
      setError(loginError.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form id="login" className="card" onSubmit={submit}>
      <h2>Log in</h2>
      <label htmlFor="login-username">Username</label>
      <input id="login-username" name="username" autoComplete="username" value={username} onChange={(event) => setUsername(event.target.value)} required />
      <label htmlFor="login-password">Password</label>
      <input id="login-password" name="password" type="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} required />
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error && <p className="notice error">{error}</p>}
      <p className="hint">The demo users are in examples/backend-proxy/users.json.</p>
    </form>
  );
}
