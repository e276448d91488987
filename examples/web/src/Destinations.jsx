import { useEffect, useState } from 'react';
import { useCreateDestination, useDeleteDestination, useGetDestinations, useUpdateDestination } from '@prequel/react';

import DestinationForm from './DestinationForm.jsx';
import DestinationList from './DestinationList.jsx';

/**
 * Renders the logged-in customer's destinations. Each SDK call gets a token
 * from the backend through `proxy.fetchToken`, then calls scopegate directly.
 */
export default function Destinations({ config, proxy }) {
  // X-APP-ID: the origin the backend names when it mints (APP_ORIGIN).
  const appId = window.location.origin;
  const getDestinations = useGetDestinations(proxy.fetchToken, appId, config.scopegateUrl);
  const createDestination = useCreateDestination(proxy.fetchToken, appId, config.scopegateUrl);
  const updateDestination = useUpdateDestination(proxy.fetchToken, appId, config.scopegateUrl);
  const deleteDestination = useDeleteDestination(proxy.fetchToken, appId, config.scopegateUrl);

  // undefined until the first list arrives.
  const [destinations, setDestinations] = useState(undefined);
  const [listError, setListError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState(false);

  async function refresh() {
    try {
      const list = await getDestinations();
      // The hook returns data.destinations, which is undefined on an error.
      if (!Array.isArray(list)) {
        throw new Error('scopegate returned no destination list');
      }
      setDestinations(list);
      setListError(null);
    } catch (error) {
      setListError(`Could not load destinations: ${error.message}`);
    }
  }

  useEffect(() => {
    refresh();
  }, []);

  /**
   * Runs one SDK call and shows its outcome: the success text, or the
   * message of scopegate's error envelope or of the thrown error.
   */
  async function perform(action, run, successText) {
    setBusy(true);
    setNotice(null);
    try {
      const response = await run();
      if (response?.status !== 'success') {
        setNotice({ kind: 'error', text: `${action} failed: ${response?.message ?? 'no message'}` });
        return false;
      }
      setNotice({ kind: 'success', text: successText(response) });
      await refresh();
      return true;
    } catch (error) {
      setNotice({ kind: 'error', text: `${action} failed: ${error.message}` });
      return false;
    } finally {
      setBusy(false);
    }
  }

  const create = (prepared) =>
    perform('Create', () => createDestination(prepared), (response) => `Created destination “${response.data.destination.name}”.`);
  const rename = (existing, name) =>
    perform('Rename', () => updateDestination(existing, { ...existing, name }), (response) => `Renamed destination to “${response.data.destination.name}”.`);
  const remove = (existing) => perform('Delete', () => deleteDestination(existing), () => `Deleted destination “${existing.name}”.`);

  return (
    <main>
      {notice && (
        <p id="notice" className={`notice ${notice.kind}`} data-kind={notice.kind} role={notice.kind === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      <DestinationList destinations={destinations} error={listError} busy={busy} onRename={rename} onDelete={remove} />
      {/*
        The form request needs no token, but it is cross-origin, and
        scopegate answers CORS preflights only for origins listed in
        SCOPEGATE_CORS_ORIGINS or named in an earlier mint. Loading the list
        first has the backend mint for this origin.
      */}
      {destinations !== undefined && <DestinationForm scopegateUrl={config.scopegateUrl} busy={busy} onCreate={create} />}
    </main>
  );
}
