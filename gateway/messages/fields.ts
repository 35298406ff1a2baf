// Field schemas shared by the message bodies. Each wraps a domain validator, so a rejection carries
// the rule id (`myNumber.checkDigit: …`) and zod supplies the path (`body.myNumber`).
import { z } from 'zod';
import { parseDate, type DateRules } from '../../domain/dates.js';
import { isNodeAddress } from '../../domain/identifiers.js';
import {
  checkAddress,
  checkDutyCode,
  checkMyNumber,
  checkPostcode,
  checkSerialNo,
  checkSex,
  idCheck,
  kanaCheck,
  lgCodeCheck,
  nameCheck,
  residentCodeCheck,
  type Check,
} from '../../domain/validation.js';

export interface SchemaOptions {
  /** 住民票コード check digit: the formula is [assumed], so this follows config `checkResidentCodeDigit`. */
  checkResidentCodeDigit: boolean;
  /** Today's ISO date in Japan; birth and change dates after it are rejected. Called at parse time. */
  today: () => string;
  /** Existence of a municipality code (e.g. routing's knownMunicipalityPredicate); absent → not checked. */
  knownLgCode?: (lgCode: string) => boolean;
}

/** A string field: wrong type or missing gives `<rule>.type` / `required`, then the domain check. */
export function checkedString(rule: string, check: Check<unknown>, description: string) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${rule}.required: missing` : `${rule}.type: expected a string`) })
    .superRefine((v, ctx) => {
      const problem = check(v);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(description);
}

/** A date field: ISO or 和暦 input, converted to ISO `YYYY-MM-DD` on output. */
export function dateField(rule: string, rules: () => DateRules, description: string) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${rule}.required: missing` : `${rule}.type: expected a string`) })
    .transform((v, ctx) => {
      const r = parseDate(v, rules());
      if (r.ok) return r.iso;
      ctx.addIssue({ code: 'custom', message: r.problem });
      return z.NEVER;
    })
    .describe(description);
}

export function enumField<const T extends readonly [string, ...string[]]>(rule: string, values: T, description: string) {
  const list = values.map((v) => `"${v}"`).join(', ');
  return z
    .enum(values, { error: (iss) => (iss.input === undefined ? `${rule}.required: missing` : `${rule}.code: expected one of ${list}`) })
    .describe(description);
}

export function intField(rule: string, min: number, max: number, description: string) {
  return z
    .number({ error: (iss) => (iss.input === undefined ? `${rule}.required: missing` : `${rule}.type: expected an integer`) })
    .int(`${rule}.type: expected an integer`)
    .min(min, `${rule}.range: expected ${min}..${max}`)
    .max(max, `${rule}.range: expected ${min}..${max}`)
    .describe(description);
}

export function asciiId(rule: string, max: number, description: string) {
  const re = new RegExp(`^[\\x21-\\x7e]{1,${max}}$`);
  return checkedString(
    rule,
    (v) => (typeof v === 'string' && re.test(v) ? undefined : `${rule}.format: expected 1-${max} printable ASCII characters`),
    description,
  );
}

const FULL_DATE =
  'ISO `YYYY-MM-DD`; 和暦 input (昭和64年1月7日, S64.1.7, 令和元年5月1日, full-width digits) is accepted and converted to ISO';

/** Every field schema, bound to the installation's options. */
export function fieldKit(opts: SchemaOptions) {
  const notFuture = (allowUnknown: boolean) => (): DateRules => ({ allowUnknown, notAfter: opts.today() });
  return {
    residentCode: checkedString(
      'residentCode',
      residentCodeCheck({ checkDigit: opts.checkResidentCodeDigit }),
      '住民票コード (resident-record code): 11 digits, the last a check digit (the check follows config checkResidentCodeDigit)',
    ),
    myNumber: checkedString('myNumber', checkMyNumber, '個人番号 (My Number): 12 digits, the last a check digit'),
    lgCode: checkedString(
      'lgCode',
      lgCodeCheck({ known: opts.knownLgCode }),
      '全国地方公共団体コード (local-government code) of a municipality: 6 digits with check digit; must exist where the code table lists the prefecture completely',
    ),
    name: checkedString(
      'name',
      nameCheck('name'),
      '氏名 (name) exactly as registered: surname and given name separated by a space (U+3000 or U+0020); kanji incl. CJK extensions, 々〆〇ヶ, kana, Latin letters for foreign names; 住基ネット統一文字 outside Unicode as the literal token J+XXXX (4 upper-case hex digits), never mapped to Unicode',
    ),
    nameKana: checkedString('nameKana', kanaCheck('nameKana'), '振り仮名 (kana reading of the name): katakana or hiragana, ー, ・, spaces'),
    formerSurname: checkedString(
      'formerSurname',
      nameCheck('formerSurname'),
      '旧氏 (former surname), same character set as 氏名; indexed as an alternate name',
    ),
    formerSurnameKana: checkedString(
      'formerSurnameKana',
      kanaCheck('formerSurnameKana'),
      '旧氏の振り仮名 (kana reading of the former surname)',
    ),
    alias: checkedString(
      'alias',
      nameCheck('alias'),
      '通称 (alias, foreign residents), same character set as 氏名; indexed as an alternate name',
    ),
    aliasKana: checkedString('aliasKana', kanaCheck('aliasKana'), '通称の振り仮名 (kana reading of the alias)'),
    birthDate: dateField(
      'birthDate',
      notFuture(true),
      `生年月日 (date of birth): ${FULL_DATE}. Unknown parts (some foreign residents) are written 00: YYYY-00-00 (month and day unknown) or YYYY-MM-00 (day unknown). Not after today`,
    ),
    changeDate: dateField('changeDate', notFuture(false), `異動年月日 (date of the change): ${FULL_DATE}. Not after today`),
    /** A complete date that may lie in the future (planned move, expiry). */
    date: (rule: string, description: string) => dateField(rule, () => ({ allowUnknown: false }), `${description}: ${FULL_DATE}`),
    /** A complete date not after today (events that happened). */
    pastDate: (rule: string, description: string) => dateField(rule, notFuture(false), `${description}: ${FULL_DATE}. Not after today`),
    sex: checkedString('sex', checkSex, '性別 (sex) [assumed codes]: "1" male (男), "2" female (女)'),
    address: checkedString(
      'address',
      checkAddress,
      '住所 (address) as registered, up to 200 characters; J+XXXX tokens allowed; no control, invisible (Unicode Cf, default-ignorable) or bidi characters, variation selectors only after an ideograph',
    ),
    postcode: checkedString('postcode', checkPostcode, '郵便番号 (postcode): NNN-NNNN or NNNNNNN'),
    dutyCode: checkedString(
      'dutyCode',
      checkDutyCode,
      "事務コード (operator's duty code): why this look-up is made; logged with every search",
    ),
    operatorId: checkedString('operatorId', idCheck('operatorId'), '操作者ID (operator ID) of the person at the terminal'),
    terminalId: checkedString('terminalId', idCheck('terminalId'), '端末ID (terminal ID)'),
    serialNo: checkedString(
      'serialNo',
      checkSerialNo,
      '処理通番 (processing serial number): opaque ASCII ≤ 32; never a My Number or 住民票コード',
    ),
    addresseeNo: asciiId('addresseeNo', 32, "宛名番号 (addressee number of the municipality's integrated addressee system)"),
    nodeAddress: checkedString(
      'node',
      (v) =>
        typeof v === 'string' && isNodeAddress(v)
          ? undefined
          : 'node.format: expected lg:{code} | pref:{code} | national | card | ims:{code} | nws',
      'node address on the upstream network',
    ),
    id: (rule: string, description: string) => checkedString(rule, idCheck(rule), description),
  };
}
export type FieldKit = ReturnType<typeof fieldKit>;

/** The body every durable request gets back once it is stored (and, where it goes on, queued). */
export const acceptedResult = z
  .strictObject({
    accepted: z.literal(true).describe('the request is durably stored and will be delivered'),
    messageId: z.string().max(64).optional().describe('id of the outbound message it was queued as, if any'),
  })
  .describe('受付 (accepted)');
