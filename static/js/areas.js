// The area directory's display names (GET /api/v1/areas, read once per page), so a request's
// area and health board read as "Govan · NHS Greater Glasgow and Clyde", not as ids.
import { api } from './api.js';

const DEFAULT = 'default';  // the built-in area and board of a deployment without an areas file
let loading = null;

/** Resolves to { area(id), board(id) } giving names ('' when unknown or unreadable). */
export function loadDirectory() {
  loading = loading || api('GET', '/api/v1/areas').then(({ boards }) => {
    const names = new Map();
    for (const board of boards) {
      names.set(`board:${board.id}`, board.name);
      for (const area of board.areas) names.set(`area:${area.id}`, area.name);
    }
    return names;
  }).catch((error) => {
    console.warn('areas: the directory could not be read; ids are shown', error);
    loading = null;
    return new Map();
  });
  return loading.then((names) => ({
    area: (id) => (!id || id === DEFAULT ? '' : names.get(`area:${id}`) || id),
    board: (id) => (!id || id === DEFAULT ? '' : names.get(`board:${id}`) || id),
  }));
}
