// The number an officer calls for emergency services is their health board's (999 in the
// UK, 911 in North America): every `[data-emergency-number]` link on the page shows it.
export function showEmergencyNumber(number) {
  if (!number) return;
  for (const link of document.querySelectorAll('[data-emergency-number]')) {
    link.textContent = number;
    if (link.tagName === 'A') link.href = `tel:${number}`;
  }
}
