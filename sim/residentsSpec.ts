// Population specs for the resident generator: which municipality codes, with real town names,
// in what proportions. Tsu and Yokohama are the reference sizes; other prefectures get a
// generic spec so the prefectural and national simulators can hold data for anyone.
import { lgCodeCheckDigit, prefectureCodeOf } from '../domain/identifiers.js';

export interface Town {
  name: string;
  chome: number;
  postcode: string;
}
export interface Municipality {
  lgCode: string;
  label: string;
  weight: number;
  towns: Town[];
}
export interface PopulationSpec {
  name: string;
  prefecture: string; // 都道府県 name, first part of every address
  prefCode: string; // 6-digit code of the prefecture
  size: number; // typical resident count (the "tsu" / "yokohama" sizes)
  foreignRate: number; // share of foreign residents
  municipalities: Municipality[];
}

const lg = (first5: string) => first5 + String(lgCodeCheckDigit(first5));
// [name, 丁目 count (0 = 番地 style), last 4 postcode digits]
type TownRow = [string, number, string];
const towns = (zip3: string, rows: TownRow[]): Town[] => rows.map(([name, chome, z]) => ({ name, chome, postcode: zip3 + z }));

const TSU_TOWNS = towns('514', [
  ['栄町', 4, '0004'],
  ['丸之内', 0, '0033'],
  ['大門', 0, '0028'],
  ['羽所町', 0, '0009'],
  ['広明町', 0, '0006'],
  ['上浜町', 6, '0008'],
  ['江戸橋', 3, '0001'],
  ['一身田町', 0, '0114'],
  ['白塚町', 0, '0101'],
  ['高茶屋', 7, '0819'],
  ['南が丘', 3, '0832'],
  ['桜橋', 3, '0003'],
  ['観音寺町', 0, '0062'],
  ['島崎町', 0, '0032'],
  ['新町', 3, '0043'],
  ['寿町', 0, '0038'],
  ['大谷町', 0, '0035'],
  ['半田', 0, '0834'],
  ['城山', 3, '0818'],
  ['鳥居町', 0, '0031'],
  ['久居新町', 0, '1136'],
  ['久居明神町', 0, '1118'],
  ['河芸町上野', 0, '2221'],
  ['芸濃町椋本', 0, '2211'],
  ['美里町三郷', 0, '2113'],
  ['安濃町東観音寺', 0, '2326'],
  ['香良洲町', 0, '0300'],
  ['一志町田尻', 0, '2221'],
  ['白山町川口', 0, '2602'],
  ['美杉町八知', 0, '3111'],
  ['雲出本郷町', 0, '0302'],
  ['藤方', 0, '0815'],
  ['垂水', 0, '0821'],
  ['乙部', 0, '0016'],
  ['中央', 0, '0036'],
]);

// Yokohama's 18 wards: each is its own local-government code; weights are ward populations (thousands).
const YOKOHAMA_WARDS: Array<[string, number, string, TownRow[]]> = [
  [
    '鶴見区',
    297,
    '230',
    [
      ['鶴見中央', 5, '0051'],
      ['豊岡町', 0, '0062'],
      ['生麦', 5, '0052'],
      ['矢向', 6, '0001'],
    ],
  ],
  [
    '神奈川区',
    247,
    '221',
    [
      ['反町', 4, '0825'],
      ['六角橋', 6, '0802'],
      ['白楽', 0, '0065'],
    ],
  ],
  [
    '西区',
    104,
    '220',
    [
      ['みなとみらい', 6, '0012'],
      ['高島', 2, '0011'],
      ['戸部町', 7, '0042'],
    ],
  ],
  [
    '中区',
    151,
    '231',
    [
      ['山下町', 0, '0023'],
      ['本牧町', 2, '0821'],
      ['石川町', 5, '0868'],
    ],
  ],
  [
    '南区',
    197,
    '232',
    [
      ['弘明寺町', 0, '0067'],
      ['六ツ川', 4, '0066'],
      ['井土ケ谷中町', 0, '0052'],
    ],
  ],
  [
    '保土ケ谷区',
    206,
    '240',
    [
      ['天王町', 2, '0003'],
      ['星川', 3, '0006'],
      ['和田', 2, '0065'],
    ],
  ],
  [
    '磯子区',
    166,
    '235',
    [
      ['洋光台', 6, '0045'],
      ['杉田', 9, '0033'],
      ['磯子', 8, '0016'],
    ],
  ],
  [
    '金沢区',
    197,
    '236',
    [
      ['釜利谷東', 8, '0042'],
      ['能見台', 6, '0053'],
      ['六浦', 5, '0031'],
    ],
  ],
  [
    '港北区',
    357,
    '223',
    [
      ['日吉', 7, '0061'],
      ['綱島西', 6, '0053'],
      ['新横浜', 3, '0033'],
      ['大倉山', 7, '0031'],
    ],
  ],
  [
    '戸塚区',
    282,
    '244',
    [
      ['戸塚町', 0, '0003'],
      ['上倉田町', 0, '0816'],
      ['品濃町', 0, '0801'],
    ],
  ],
  [
    '港南区',
    214,
    '233',
    [
      ['上大岡西', 3, '0002'],
      ['港南台', 9, '0004'],
      ['日野', 9, '0015'],
    ],
  ],
  [
    '旭区',
    243,
    '241',
    [
      ['二俣川', 2, '0821'],
      ['鶴ケ峰', 2, '0022'],
      ['若葉台', 4, '0801'],
    ],
  ],
  [
    '緑区',
    183,
    '226',
    [
      ['十日市場町', 0, '0025'],
      ['長津田', 7, '0027'],
      ['中山', 5, '0011'],
    ],
  ],
  [
    '瀬谷区',
    122,
    '246',
    [
      ['瀬谷', 6, '0031'],
      ['三ツ境', 0, '0022'],
    ],
  ],
  [
    '栄区',
    120,
    '247',
    [
      ['本郷台', 5, '0005'],
      ['小菅ケ谷', 4, '0007'],
      ['飯島町', 0, '0002'],
    ],
  ],
  [
    '泉区',
    152,
    '245',
    [
      ['いずみ中央', 0, '0016'],
      ['中田東', 4, '0013'],
      ['和泉町', 0, '0016'],
    ],
  ],
  [
    '青葉区',
    310,
    '225',
    [
      ['美しが丘', 5, '0002'],
      ['青葉台', 2, '0062'],
      ['藤が丘', 2, '0021'],
      ['あざみ野', 4, '0011'],
    ],
  ],
  [
    '都筑区',
    214,
    '224',
    [
      ['中川', 8, '0001'],
      ['仲町台', 5, '0041'],
      ['茅ケ崎中央', 0, '0032'],
      ['北山田', 7, '0021'],
    ],
  ],
];

export const POPULATIONS: Record<string, PopulationSpec> = {
  tsu: {
    name: 'tsu',
    prefecture: '三重県',
    prefCode: '240001',
    size: 274_000,
    foreignRate: 0.025,
    municipalities: [{ lgCode: '242012', label: '津市', weight: 1, towns: TSU_TOWNS }],
  },
  yokohama: {
    name: 'yokohama',
    prefecture: '神奈川県',
    prefCode: '140007',
    size: 3_760_000,
    foreignRate: 0.03,
    municipalities: YOKOHAMA_WARDS.map(([ward, weight, zip3, rows], i) => ({
      lgCode: lg('141' + String(i + 1).padStart(2, '0')),
      label: '横浜市' + ward,
      weight,
      towns: towns(zip3, rows),
    })),
  },
};

const PREFECTURE_NAMES = [
  '北海道',
  '青森県',
  '岩手県',
  '宮城県',
  '秋田県',
  '山形県',
  '福島県',
  '茨城県',
  '栃木県',
  '群馬県',
  '埼玉県',
  '千葉県',
  '東京都',
  '神奈川県',
  '新潟県',
  '富山県',
  '石川県',
  '福井県',
  '山梨県',
  '長野県',
  '岐阜県',
  '静岡県',
  '愛知県',
  '三重県',
  '滋賀県',
  '京都府',
  '大阪府',
  '兵庫県',
  '奈良県',
  '和歌山県',
  '鳥取県',
  '島根県',
  '岡山県',
  '広島県',
  '山口県',
  '徳島県',
  '香川県',
  '愛媛県',
  '高知県',
  '福岡県',
  '佐賀県',
  '長崎県',
  '熊本県',
  '大分県',
  '宮崎県',
  '鹿児島県',
  '沖縄県',
];

// Town names found in most Japanese cities; 番地 numbering keeps generic addresses plausible.
const GENERIC_TOWNS: TownRow[] = [
  ['本町', 3, '0001'],
  ['中央', 4, '0002'],
  ['栄町', 2, '0003'],
  ['緑町', 3, '0004'],
  ['旭町', 2, '0005'],
  ['幸町', 0, '0006'],
  ['元町', 0, '0007'],
  ['新町', 0, '0008'],
  ['東町', 0, '0009'],
  ['西町', 0, '0010'],
];

/**
 * A generic spec for any prefecture (01–47): three municipality codes pp201..pp203 (valid check
 * digits) labelled by code, with common town names. Used by the prefectural/national simulators.
 */
export function prefectureSpec(pref: number): PopulationSpec {
  if (!Number.isInteger(pref) || pref < 1 || pref > 47) throw new RangeError('prefecture number must be 1..47');
  const pp = String(pref).padStart(2, '0');
  const prefecture = PREFECTURE_NAMES[pref - 1]!;
  return {
    name: `pref-${pp}`,
    prefecture,
    prefCode: prefectureCodeOf(lg(pp + '201')),
    size: 100_000,
    foreignRate: 0.02,
    municipalities: [1, 2, 3].map((n) => {
      const code = lg(`${pp}20${n}`);
      return {
        lgCode: code,
        label: `第${n}市(${code})`,
        weight: 4 - n,
        towns: towns(String(100 + pref * 10 + n).slice(0, 3), GENERIC_TOWNS),
      };
    }),
  };
}

/** "tsu", "yokohama", "mie" (Tsu + 5 other Mie cities), or "pref-NN". */
export function populationSpec(name: string): PopulationSpec {
  if (POPULATIONS[name]) return POPULATIONS[name];
  if (name === 'mie') return MIE;
  const m = /^pref-(\d{1,2})$/.exec(name);
  if (m) return prefectureSpec(Number(m[1]));
  throw new RangeError(`unknown population "${name}" (tsu, yokohama, mie, pref-NN)`);
}

const MIE: PopulationSpec = {
  name: 'mie',
  prefecture: '三重県',
  prefCode: '240001',
  size: 1_000_000,
  foreignRate: 0.025,
  municipalities: [
    { lgCode: '242012', label: '津市', weight: 274, towns: TSU_TOWNS },
    {
      lgCode: '242021',
      label: '四日市市',
      weight: 311,
      towns: towns('510', [
        ['諏訪町', 0, '0085'],
        ['浜田町', 0, '0067'],
        ['日永', 5, '0885'],
      ]),
    },
    {
      lgCode: '242039',
      label: '伊勢市',
      weight: 123,
      towns: towns('516', [
        ['岩渕', 3, '0037'],
        ['宮後', 3, '0073'],
        ['二見町茶屋', 0, '0101'],
      ]),
    },
    {
      lgCode: '242047',
      label: '松阪市',
      weight: 159,
      towns: towns('515', [
        ['殿町', 0, '0073'],
        ['京町', 0, '0081'],
        ['川井町', 0, '0045'],
      ]),
    },
    {
      lgCode: '242055',
      label: '桑名市',
      weight: 139,
      towns: towns('511', [
        ['中央町', 5, '0068'],
        ['寿町', 3, '0065'],
        ['大山田', 7, '0903'],
      ]),
    },
    {
      lgCode: '242071',
      label: '鈴鹿市',
      weight: 197,
      towns: towns('513', [
        ['神戸', 9, '0801'],
        ['白子', 4, '0801'],
        ['平田', 2, '0836'],
      ]),
    },
  ],
};
