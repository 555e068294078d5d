// Element lookups and text output. Text only: never innerHTML.

export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`page lacks #${id}`);
  }
  return element;
}

export function show(id, text) {
  byId(id).textContent = text;
}

export function describe(error) {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
