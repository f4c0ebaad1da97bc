// Imports every module that declares error codes, so the full list is known in one place
// (`rampart errors`, and the test that keeps docs/errors.md in step). Add new error modules here.
import './core/errors.js';
import './gateway/errors.js';
import './gateway/http1/client-errors.js';
import './tls/errors.js';
import './store/errors.js';
import './auth/errors.js';
import './policy/errors.js';
import './quota/errors.js';
import './demo/errors.js';
import './report/errors.js';
import './signing/errors.js';
import './audit/errors.js';
import './scan/errors.js';
import './crypto/errors.js';
import './dataset/errors.js';
import './monitor/errors.js';
import './guards/errors.js';
import './guards/extraction/errors.js';
import './guards/injection/errors.js';
import './guards/tensor/errors.js';
