// The dashboard shell: the API key, the page router (#overview, #customer,
// ...) and the error banner. Each page is a module with
// `render(main) -> Promise` that fetches its JSON and draws it.
import { apiKey, setApiKey, disposeCharts, ApiError, h } from './lib.js';
import * as overview from './pages/overview.js';
import * as customer from './pages/customer.js';
import * as rfm from './pages/rfm.js';
import * as clv from './pages/clv.js';
import * as recommendations from './pages/recommendations.js';
import * as quarantine from './pages/quarantine.js';

const pages = { overview, customer, rfm, clv, recommendations, quarantine };

const main = document.getElementById('page');
const banner = document.getElementById('banner');

function showKeyState() {
  document.getElementById('key-input').placeholder = apiKey() ? 'key set for this tab' : 'read key';
}

function showBanner(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

// ?key=... opens the dashboard with a key (a link from an admin); it moves
// to sessionStorage and out of the address bar, history and Referer.
function takeKeyFromUrl() {
  const url = new URL(window.location.href);
  const key = url.searchParams.get('key');
  if (key === null) return;
  setApiKey(key.trim());
  url.searchParams.delete('key');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

let renderSeq = 0;
async function route() {
  const name = (window.location.hash.replace(/^#/, '').split('/')[0]) || 'overview';
  const page = pages[name] || pages.overview;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
  const seq = ++renderSeq;
  disposeCharts();
  main.replaceChildren(h('div', { class: 'notice' }, 'Loading…'));
  main.dataset.state = 'loading';
  showBanner(apiKey() ? '' : 'Enter an API key with the read scope (top right) to see the data.');
  try {
    await page.render(main);
    if (seq === renderSeq) main.dataset.state = 'ready';
  } catch (e) {
    if (seq !== renderSeq) return;
    main.dataset.state = 'error';
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      showBanner(e.status === 401 ? 'The API key is missing or not valid: enter a read key (top right).'
                                  : 'This API key lacks the read scope the dashboard needs.');
      main.replaceChildren();
    } else {
      showBanner('Could not load this page: ' + e.message);
    }
  }
}

document.getElementById('key-form').addEventListener('submit', ev => {
  ev.preventDefault();
  const input = document.getElementById('key-input');
  setApiKey(input.value.trim());
  input.value = '';
  showKeyState();
  route();
});

takeKeyFromUrl();
showKeyState();
window.addEventListener('hashchange', route);
// ECharts is a deferred classic script; module scripts run after it, so it
// is loaded (or absent) by now.
route();
