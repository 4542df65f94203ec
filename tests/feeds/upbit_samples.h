/* Upbit's documented message examples, shared by the codec tests and the JSON benchmark. */
#ifndef ST_TESTS_UPBIT_SAMPLES_H
#define ST_TESTS_UPBIT_SAMPLES_H

/* The DEFAULT ticker example of the Upbit documentation (1 KB). */
#define UPBIT_TICKER_DEFAULT \
    "{\"type\":\"ticker\",\"code\":\"KRW-BTC\",\"opening_price\":31883000,\"high_price\":32310000," \
    "\"low_price\":31855000,\"trade_price\":32287000,\"prev_closing_price\":31883000.00000000," \
    "\"acc_trade_price\":78039261076.51241000,\"change\":\"RISE\",\"change_price\":404000.00000000," \
    "\"signed_change_price\":404000.00000000,\"change_rate\":0.0126713295,\"signed_change_rate\":0.0126713295," \
    "\"ask_bid\":\"ASK\",\"trade_volume\":0.03103806,\"acc_trade_volume\":2429.58834336,\"trade_date\":\"20230221\"," \
    "\"trade_time\":\"074102\",\"trade_timestamp\":1676965262139,\"acc_ask_volume\":1146.25573608," \
    "\"acc_bid_volume\":1283.33260728,\"highest_52_week_price\":57678000.00000000,\"highest_52_week_date\":" \
    "\"2022-03-28\",\"lowest_52_week_price\":20700000.00000000,\"lowest_52_week_date\":\"2022-12-30\"," \
    "\"market_state\":\"ACTIVE\",\"is_trading_suspended\":false,\"delisting_date\":null,\"market_warning\":" \
    "\"NONE\",\"timestamp\":1676965262177,\"acc_trade_price_24h\":228827082483.70729000," \
    "\"acc_trade_volume_24h\":7158.80283560,\"stream_type\":\"REALTIME\"}"

/* The same ticker in SIMPLE naming (protocols.md §2.3's table). */
#define UPBIT_TICKER_SIMPLE \
    "{\"ty\":\"ticker\",\"cd\":\"KRW-BTC\",\"op\":31883000,\"hp\":32310000," \
    "\"lp\":31855000,\"tp\":32287000,\"pcp\":31883000.00000000," \
    "\"atp\":78039261076.51241000,\"c\":\"RISE\",\"cp\":404000.00000000," \
    "\"scp\":404000.00000000,\"cr\":0.0126713295,\"scr\":0.0126713295," \
    "\"ab\":\"ASK\",\"tv\":0.03103806,\"atv\":2429.58834336,\"tdt\":\"20230221\"," \
    "\"ttm\":\"074102\",\"ttms\":1676965262139,\"aav\":1146.25573608," \
    "\"abv\":1283.33260728,\"h52wp\":57678000.00000000,\"h52wdt\":" \
    "\"2022-03-28\",\"l52wp\":20700000.00000000,\"l52wdt\":\"2022-12-30\"," \
    "\"ms\":\"ACTIVE\",\"its\":false,\"dd\":null,\"mw\":" \
    "\"NONE\",\"tms\":1676965262177,\"atp24h\":228827082483.70729000," \
    "\"atv24h\":7158.80283560,\"st\":\"REALTIME\"}"

/* The trade example in SIMPLE naming (0.3 KB). */
#define UPBIT_TRADE_SIMPLE \
    "{\"ty\":\"trade\",\"cd\":\"KRW-BTC\",\"tms\":1730336862082,\"td\":\"2024-10-31\",\"ttm\":\"01:07:42\"," \
    "\"ttms\":1730336862047,\"tp\":100473000.0,\"tv\":0.00014208,\"ab\":\"BID\",\"pcp\":100571000.0," \
    "\"c\":\"FALL\",\"cp\":98000.0,\"sid\":17303368620470000,\"bap\":100473000,\"bas\":0.43139478," \
    "\"bbp\":100465000,\"bbs\":0.01990656,\"st\":\"SNAPSHOT\"}"

#endif
