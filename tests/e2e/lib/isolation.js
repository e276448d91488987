// The tenant isolation check: which of another tenant's destinations a
// logged-in page lists.

import { listedDestinations } from './app.js';

/**
 * Returns the destinations among `foreignDestinations` ({id, name}) that
 * the page lists, after the list has loaded. An empty array means the page
 * shows none of them.
 */
export async function listedForeignDestinations(page, foreignDestinations) {
  const listed = await listedDestinations(page);
  const listedIds = new Set(listed.map((destination) => destination.id));
  return foreignDestinations.filter((destination) => listedIds.has(destination.id));
}
