// Building the views' DOM. User text only ever goes in through textContent (a track
// named "<img onerror=...>" shows as those characters).
export function el(
  tag: string,
  className = '',
  text?: string
): HTMLElement {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function progressBar(percent: number): HTMLElement {
  const bar = el('div', 'conductor-nb-progress');
  const fill = el('div', 'conductor-nb-progress-fill');
  fill.style.width = `${percent}%`;
  bar.appendChild(fill);
  return bar;
}
