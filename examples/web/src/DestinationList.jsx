import { useState } from 'react';

function location(destination) {
  const details = destination[destination.vendor] ?? {};
  const where = [details.host, details.port].filter((part) => part !== undefined && part !== '').join(':');
  return [where, details.database].filter(Boolean).join(' / ');
}

/** Renders the customer's destinations, with rename and delete on each row. */
export default function DestinationList({ destinations, error, busy, onRename, onDelete }) {
  const [editingId, setEditingId] = useState(null);
  const [draftName, setDraftName] = useState('');

  let state = 'loaded';
  if (error) {
    state = 'error';
  } else if (destinations === undefined) {
    state = 'loading';
  }

  async function saveName(event, destination) {
    event.preventDefault();
    if (await onRename(destination, draftName)) {
      setEditingId(null);
    }
  }

  return (
    <section id="destinations" className="card" data-state={state} data-count={destinations?.length ?? ''}>
      <h2>Your destinations</h2>
      {error && <p className="notice error">{error}</p>}
      {state === 'loading' && <p>Loading destinations…</p>}
      {destinations?.length === 0 && <p className="empty">No destinations yet.</p>}
      {destinations?.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Vendor</th>
              <th>Location</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {destinations.map((destination) => (
              <tr key={destination.id} data-destination-id={destination.id}>
                <td className="name">
                  {editingId === destination.id ? (
                    <form className="rename" onSubmit={(event) => saveName(event, destination)}>
                      <input aria-label="New name" value={draftName} onChange={(event) => setDraftName(event.target.value)} required />
                      <button type="submit" disabled={busy}>
                        Save
                      </button>
                      <button type="button" onClick={() => setEditingId(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    destination.name
                  )}
                </td>
                <td>{destination.vendor}</td>
                <td>{location(destination)}</td>
                <td className="actions">
                  <button
                    type="button"
                    disabled={busy || editingId === destination.id}
                    onClick={() => {
                      setEditingId(destination.id);
                      setDraftName(destination.name);
                    }}
                  >
                    Rename
                  </button>
                  <button type="button" className="danger" disabled={busy} onClick={() => onDelete(destination)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
