// Common variant (異体字・旧字体) → standard form for name and address search keys [assumed].
// Names are stored exactly as given; only the search keys fold. Compatibility ideographs with a
// Unicode decomposition (e.g. U+FA19 神) are already folded by NFKC; the ones below are not.
// Swappable: pass another table to the key functions.
export const KANJI_VARIANTS: Readonly<Record<string, string>> = {
  髙: '高', 﨑: '崎', 嵜: '崎', 碕: '崎', 邉: '辺', 邊: '辺', 齋: '斉', 齊: '斉', 斎: '斉',
  濱: '浜', 濵: '浜', 澤: '沢', 櫻: '桜', 廣: '広', 眞: '真', 德: '徳', 國: '国', 圀: '国',
  學: '学', 壽: '寿', 榮: '栄', 實: '実', 惠: '恵', 藏: '蔵', 淺: '浅', 會: '会', 關: '関',
  萬: '万', 與: '与', 來: '来', 團: '団', 圓: '円', 彌: '弥', 瀧: '滝', 嶋: '島', 嶌: '島',
  嶽: '岳', 冨: '富', 槇: '槙', 檜: '桧', 藪: '薮', 籔: '薮', 曾: '曽', 增: '増', 顯: '顕',
  條: '条', 黑: '黒', 禮: '礼', 豐: '豊', 舘: '館', 峯: '峰', 鷗: '鴎', 淵: '渕', 縣: '県',
  將: '将', 靜: '静', 聰: '聡', 傳: '伝', 亞: '亜', 晉: '晋', 兒: '児', 龍: '竜',
  﨔: '欅', 莊: '荘', 驒: '騨', 驛: '駅', 鐵: '鉄', 靑: '青', 淸: '清', 戶: '戸',
  曻: '昇', 昻: '昂', 𠮷: '吉', 栁: '柳', 桒: '桑', 舩: '船', 遙: '遥', 埜: '野', 邨: '村', 凜: '凛', 蘆: '芦',
};
