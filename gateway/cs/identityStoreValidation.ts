// Field rules of an identity change, built from the domain's rule vocabulary; shared by the store
// and the importer's validation report (each problem names its rule, e.g. `myNumber.checkDigit`).
import type { ErrorDetail } from '../../platform/envelope.js';
import {
  checkAddress,
  checkMyNumber,
  checkPostcode,
  checkSex,
  dateCheck,
  kanaCheck,
  lgCodeCheck,
  nameCheck,
  residentCodeCheck,
  validate,
} from '../../domain/validation.js';
import { isChangeReason } from './identityStoreTypes.js';

export interface ValidationOptions {
  residentCodeCheckDigit?: boolean;
  lgCodes?: { known?: ReadonlySet<string>; served?: ReadonlySet<string> };
}

export function validateIdentityChange(c: Record<string, unknown>, opts: ValidationOptions = {}): ErrorDetail[] {
  const rc = residentCodeCheck({ checkDigit: opts.residentCodeCheckDigit ?? true });
  const optional = (path: string, ...checks: Array<(v: unknown) => string | undefined>) =>
    c[path] === undefined ? [] : validate(path, c[path], ...checks);
  return [
    ...validate('residentCode', c.residentCode, rc),
    ...validate('myNumber', c.myNumber, checkMyNumber),
    ...validate('lgCode', c.lgCode, lgCodeCheck(opts.lgCodes)),
    ...validate('name', c.name, nameCheck('name')),
    ...optional('nameKana', kanaCheck('nameKana')),
    ...validate('birthDate', c.birthDate, dateCheck({ allowUnknown: true }, 'birthDate')),
    ...validate('sex', c.sex, checkSex),
    ...validate('address', c.address, checkAddress),
    ...optional('postcode', checkPostcode),
    ...optional('formerSurname', nameCheck('formerSurname')),
    ...optional('formerSurnameKana', kanaCheck('formerSurnameKana')),
    ...optional('alias', nameCheck('alias')),
    ...optional('aliasKana', kanaCheck('aliasKana')),
    ...optional('previousResidentCode', rc),
    ...optional('status', (v) => (v === 'current' || v === 'deleted' ? undefined : 'status.value: expected current or deleted')),
    ...validate('changeReason', c.changeReason, (v) =>
      isChangeReason(v) ? undefined : 'changeReason.code: expected "add" (記載), "delete" (消除) or "correct" (修正)',
    ),
    ...validate('changeDate', c.changeDate, dateCheck({}, 'changeDate')),
    ...(c.formerSurnameKana !== undefined && c.formerSurname === undefined
      ? [{ path: 'formerSurname', problem: 'record.formerSurname: a kana reading of 旧氏 needs 旧氏 itself' }]
      : []),
    ...(c.aliasKana !== undefined && c.alias === undefined
      ? [{ path: 'alias', problem: 'record.alias: a kana reading of 通称 needs 通称 itself' }]
      : []),
    ...(c.previousResidentCode !== undefined && c.previousResidentCode === c.residentCode
      ? [{ path: 'previousResidentCode', problem: 'record.previousResidentCode: must differ from residentCode' }]
      : []),
  ];
}
