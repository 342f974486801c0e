export { SdError, FormatError, UsageError } from './errors.js';
