// Phonebase console: small helpers shared by every page (no framework, no build step).
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // A select marked data-autosubmit applies its form's filters as soon as it changes.
  for (const select of document.querySelectorAll('select[data-autosubmit]')) {
    select.addEventListener('change', () => select.form.submit());
  }
  // Bars in tables: their width is the share given by the server (no inline styles: the
  // console's Content-Security-Policy allows none).
  for (const bar of document.querySelectorAll('.bar[data-share]')) {
    const share = Math.max(0, Math.min(1, Number(bar.dataset.share) || 0));
    bar.style.width = `${(share * 100).toFixed(1)}%`;
  }
});
