// A camera (or microphone) the browser refuses: browsers do not ask twice, so pressing Video
// again cannot help by itself. Say how to allow it in this browser, and offer Retry.
import { $ } from './dom.js';

/** How to allow `what` for this site in the browser the page runs in. */
export function howToAllow(what, agent = navigator.userAgent) {
  if (/iPhone|iPad|iPod/.test(agent)) {
    return `Tap aA in the address bar, then Website Settings, and set ${what} to Allow (or in `
      + `the Settings app: Safari, then ${what}, Allow).`;
  }
  if (/Firefox\//.test(agent)) {
    return `Click the crossed-out ${what.toLowerCase()} icon in the address bar, or the icon `
      + 'left of the address, and remove the block.';
  }
  if (/Android/.test(agent)) {
    return `Tap the icon left of the address, then Permissions, and turn on ${what}.`;
  }
  if (/Chrome\/|Edg\//.test(agent)) {
    return `Click the icon left of the address (a lock or sliders), and set ${what} to Allow.`;
  }
  return `Open this site's settings in your browser and allow ${what.toLowerCase()}.`;
}

/** Wire the panel: `retry(mode)` asks for the devices again. Returns { refused, granted }. */
export function setupCameraHelp(retry) {
  let wanted = null;
  let times = 0;
  $('camera-retry').addEventListener('click', () => {
    $('camera-help').hidden = true;
    if (wanted) retry(wanted);
  });
  return {
    refused(mode, got) {
      wanted = mode;
      times += 1;
      const what = got === 'text' ? 'Camera and microphone' : 'Camera';
      const verb = got === 'text' ? 'are' : 'is';
      $('camera-help-title').textContent = times > 1
        ? `${what} still blocked for this page` : `${what} ${verb} blocked for this page`;
      $('camera-help-how').textContent = `${howToAllow(what.split(' ')[0])} Then press Retry.`;
      $('camera-help').hidden = false;
      $('camera-help').dataset.refusals = String(times);
      $('camera-help-title').focus({ preventScroll: true });
    },
    granted(mode) {
      if (mode === wanted || mode === 'video') $('camera-help').hidden = true;
    },
  };
}
