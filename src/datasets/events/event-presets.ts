/**
 * Event-log layouts people download, as `esmm convert events --preset NAME`.
 *
 * taobao: Taobao UserBehavior (Tianchi dataset 649), no header,
 *   `user_id,item_id,category_id,behavior,timestamp`, behaviors pv/fav/cart/buy, epoch seconds.
 * rees46: REES46 "eCommerce behavior data from multi category store" (Kaggle), with a header,
 *   `event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session`,
 *   events view/cart/purchase, times like `2019-10-01 00:00:00 UTC`.
 * Neither logs exposures: a pv/view is already a visit, so the click stage is the entry.
 */
import { UserError } from '../../errors.js';
import type { EventsSpec } from './events-spec.js';

export const EVENT_PRESETS: Record<string, EventsSpec> = {
  taobao: {
    header: false,
    names: ['user_id', 'item_id', 'category_id', 'behavior', 'timestamp'],
    columns: { user: 'user_id', item: 'item_id', event: 'behavior', time: 'timestamp', categorical: ['category_id'], numeric: [] },
    click: ['pv'],
    actions: [
      { name: 'cart', events: ['cart'] },
      { name: 'fav', events: ['fav'] },
    ],
    buy: ['buy'],
    entry: 'click',
    timeUnit: 's',
  },
  rees46: {
    header: true,
    columns: {
      user: 'user_id',
      item: 'product_id',
      event: 'event_type',
      time: 'event_time',
      session: 'user_session',
      categorical: ['category_id', 'category_code', 'brand'],
      numeric: ['price'],
    },
    click: ['view'],
    actions: [{ name: 'cart', events: ['cart'] }],
    buy: ['purchase'],
    entry: 'click',
    timeUnit: 's',
  },
};

export function eventPreset(name: string): EventsSpec {
  const preset = EVENT_PRESETS[name];
  if (preset === undefined) throw new UserError(`unknown preset '${name}' (known: ${Object.keys(EVENT_PRESETS).join(', ')})`);
  return structuredClone(preset);
}
