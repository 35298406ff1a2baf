// Municipality-code tables [assumed data, swappable]: the 47 prefectures, all 29 municipalities of
// Mie, Yokohama's 18 wards and a handful of large cities. Enough to resolve an address string to a
// prefecture and often a municipality; anything else resolves to its prefecture only (or nothing).
// Replace with the full 総務省 code list by passing another `CodeTables` to the routing functions.

export interface Prefecture {
  code: string;
  name: string;
}
export interface Municipality {
  /** 全国地方公共団体コード (6 digits, check digit included). */
  code: string;
  /** 市区町村名 as written in addresses (a ward carries its city: 横浜市鶴見区). */
  name: string;
  /** 郡 that may precede a town's name in an address (桑名郡木曽岬町). */
  county?: string;
  /** For a ward of a designated city (政令指定都市の区): the city's code. */
  city?: string;
}
export interface CodeTables {
  prefectures: readonly Prefecture[];
  municipalities: readonly Municipality[];
  /** Prefecture codes whose municipalities are ALL listed: a code of theirs missing from the table does not exist. */
  completePrefectures?: readonly string[];
}

export const PREFECTURES: readonly Prefecture[] = [
  { code: '010006', name: '北海道' },
  { code: '020001', name: '青森県' },
  { code: '030007', name: '岩手県' },
  { code: '040002', name: '宮城県' },
  { code: '050008', name: '秋田県' },
  { code: '060003', name: '山形県' },
  { code: '070009', name: '福島県' },
  { code: '080004', name: '茨城県' },
  { code: '090000', name: '栃木県' },
  { code: '100005', name: '群馬県' },
  { code: '110001', name: '埼玉県' },
  { code: '120006', name: '千葉県' },
  { code: '130001', name: '東京都' },
  { code: '140007', name: '神奈川県' },
  { code: '150002', name: '新潟県' },
  { code: '160008', name: '富山県' },
  { code: '170003', name: '石川県' },
  { code: '180009', name: '福井県' },
  { code: '190004', name: '山梨県' },
  { code: '200000', name: '長野県' },
  { code: '210005', name: '岐阜県' },
  { code: '220001', name: '静岡県' },
  { code: '230006', name: '愛知県' },
  { code: '240001', name: '三重県' },
  { code: '250007', name: '滋賀県' },
  { code: '260002', name: '京都府' },
  { code: '270008', name: '大阪府' },
  { code: '280003', name: '兵庫県' },
  { code: '290009', name: '奈良県' },
  { code: '300004', name: '和歌山県' },
  { code: '310000', name: '鳥取県' },
  { code: '320005', name: '島根県' },
  { code: '330001', name: '岡山県' },
  { code: '340006', name: '広島県' },
  { code: '350001', name: '山口県' },
  { code: '360007', name: '徳島県' },
  { code: '370002', name: '香川県' },
  { code: '380008', name: '愛媛県' },
  { code: '390003', name: '高知県' },
  { code: '400009', name: '福岡県' },
  { code: '410004', name: '佐賀県' },
  { code: '420000', name: '長崎県' },
  { code: '430005', name: '熊本県' },
  { code: '440001', name: '大分県' },
  { code: '450006', name: '宮崎県' },
  { code: '460001', name: '鹿児島県' },
  { code: '470007', name: '沖縄県' },
];

/** 三重県: all 29 municipalities (14 cities, 15 towns). */
export const MIE_MUNICIPALITIES: readonly Municipality[] = [
  { code: '242012', name: '津市' },
  { code: '242021', name: '四日市市' },
  { code: '242039', name: '伊勢市' },
  { code: '242047', name: '松阪市' },
  { code: '242055', name: '桑名市' },
  { code: '242071', name: '鈴鹿市' },
  { code: '242080', name: '名張市' },
  { code: '242098', name: '尾鷲市' },
  { code: '242101', name: '亀山市' },
  { code: '242110', name: '鳥羽市' },
  { code: '242128', name: '熊野市' },
  { code: '242144', name: 'いなべ市' },
  { code: '242152', name: '志摩市' },
  { code: '242161', name: '伊賀市' },
  { code: '243035', name: '木曽岬町', county: '桑名郡' },
  { code: '243248', name: '東員町', county: '員弁郡' },
  { code: '243418', name: '菰野町', county: '三重郡' },
  { code: '243434', name: '朝日町', county: '三重郡' },
  { code: '243442', name: '川越町', county: '三重郡' },
  { code: '244414', name: '多気町', county: '多気郡' },
  { code: '244422', name: '明和町', county: '多気郡' },
  { code: '244431', name: '大台町', county: '多気郡' },
  { code: '244619', name: '玉城町', county: '度会郡' },
  { code: '244708', name: '度会町', county: '度会郡' },
  { code: '244716', name: '大紀町', county: '度会郡' },
  { code: '244724', name: '南伊勢町', county: '度会郡' },
  { code: '245437', name: '紀北町', county: '北牟婁郡' },
  { code: '245615', name: '御浜町', county: '南牟婁郡' },
  { code: '245623', name: '紀宝町', county: '南牟婁郡' },
];

/** 横浜市 (141003) and its 18 wards: each ward registers residents under its own code. */
export const YOKOHAMA_WARDS: readonly Municipality[] = [
  { code: '141011', name: '横浜市鶴見区', city: '141003' },
  { code: '141020', name: '横浜市神奈川区', city: '141003' },
  { code: '141038', name: '横浜市西区', city: '141003' },
  { code: '141046', name: '横浜市中区', city: '141003' },
  { code: '141054', name: '横浜市南区', city: '141003' },
  { code: '141062', name: '横浜市保土ケ谷区', city: '141003' },
  { code: '141071', name: '横浜市磯子区', city: '141003' },
  { code: '141089', name: '横浜市金沢区', city: '141003' },
  { code: '141097', name: '横浜市港北区', city: '141003' },
  { code: '141101', name: '横浜市戸塚区', city: '141003' },
  { code: '141119', name: '横浜市港南区', city: '141003' },
  { code: '141127', name: '横浜市旭区', city: '141003' },
  { code: '141135', name: '横浜市緑区', city: '141003' },
  { code: '141143', name: '横浜市瀬谷区', city: '141003' },
  { code: '141151', name: '横浜市栄区', city: '141003' },
  { code: '141160', name: '横浜市泉区', city: '141003' },
  { code: '141178', name: '横浜市青葉区', city: '141003' },
  { code: '141186', name: '横浜市都筑区', city: '141003' },
];

/** Designated cities and a few Tokyo special wards. */
export const LARGE_CITIES: readonly Municipality[] = [
  { code: '011002', name: '札幌市' },
  { code: '041009', name: '仙台市' },
  { code: '111007', name: 'さいたま市' },
  { code: '121002', name: '千葉市' },
  { code: '131016', name: '千代田区' },
  { code: '131024', name: '中央区' },
  { code: '131032', name: '港区' },
  { code: '131041', name: '新宿区' },
  { code: '141003', name: '横浜市' },
  { code: '141305', name: '川崎市' },
  { code: '141500', name: '相模原市' },
  { code: '231002', name: '名古屋市' },
  { code: '261009', name: '京都市' },
  { code: '271004', name: '大阪市' },
  { code: '271403', name: '堺市' },
  { code: '281000', name: '神戸市' },
  { code: '341002', name: '広島市' },
  { code: '401005', name: '北九州市' },
  { code: '401307', name: '福岡市' },
];

export const DEFAULT_CODE_TABLES: CodeTables = {
  prefectures: PREFECTURES,
  municipalities: [...MIE_MUNICIPALITIES, ...YOKOHAMA_WARDS, ...LARGE_CITIES],
  completePrefectures: ['240001'],
};
