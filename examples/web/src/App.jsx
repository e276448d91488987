import { useEffect, useMemo, useState } from 'react';

import Destinations from './Destinations.jsx';
import LoginForm from './LoginForm.jsx';
import { createProxyClient } from './proxy.js';

export default function App({ config }) {
  const proxy = useMemo(() => createProxyClient(config.proxyUrl), [config.proxyUrl]);
  // undefined while the session is being read, null when logged out.
  const [session, setSession] = useState(undefined);
  const [sessionError, setSessionError] = useState(null);

  useEffect(() => {
    proxy.currentSession().then(setSession, (error) => {
      setSession(null);
      setSessionError(error.message);
    });
  }, [proxy]);

  async function logout() {
    try {
      await proxy.logout();
      setSession(null);
    } catch (error) {
      setSessionError(error.message);
    }
  }

  let content;
  if (session === undefined) {
    content = <p>Checking your session…</p>;
  } else if (session === null) {
    content = <LoginForm proxy={proxy} onLogin={setSession} />;
  } else {
    content = <Destinations key={session.username} config={config} proxy={proxy} />;
  }

  return (
    <div className="page">
      <header>
        <h1>Data exports</h1>
        {session && (
          <div className="who">
            Signed in as <strong id="username">{session.username}</strong> (customer{' '}
            <code id="tenant">{session.tenant}</code>){' '}
            <button type="button" onClick={logout}>
              Log out
            </button>
          </div>
        )}
      </header>
      {sessionError && <p className="notice error">{sessionError}</p>}
      {content}
    </div>
  );
}
