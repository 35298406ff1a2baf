// 情報提供等記録 (records of information provision): see records.ts.
export { openProvisionRecords, type ProvisionRecord, type ProvisionRecords, type ProvisionQuery } from './records.js';
