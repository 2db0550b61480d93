// The one DOM shorthand the pages share.

/** The element with this id (null when the page has none). */
export const $ = (id) => document.getElementById(id);
