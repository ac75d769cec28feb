#!/usr/bin/env python3
"""Write scenarios/world_2025.toml and scenarios/world_2025_rule_kept.toml: the 2025 replay
with every country as its own nation, in its AI Diffusion Rule tier, and the rule's
counterfactual on that world.

    python3 scripts/world_2025.py            # rewrites both scenarios
    python3 scripts/world_2025.py --markdown # prints the country table of docs/calibration.md
    python3 scripts/world_2025.py --check    # fails if the scenarios or that table differ (CI)

The table below is the single source: ISO 3166 alpha-3 code, name, tier, GDP 2023 in billions
of current US dollars (approximate; see docs/calibration.md "World of nations"). Python
standard library only.
"""

import sys

# Nations the replay models with their own calibrated demand (they keep it).
MODELLED = {"USA", "CHN", "MYS", "SGP", "ARE", "SAU"}

# Tier 1: the US and 18 close allies (the rule's list).
TIER1 = """
AUS Australia 1724
BEL Belgium 632
CAN Canada 2140
DNK Denmark 404
FIN Finland 300
FRA France 3030
DEU Germany 4456
IRL Ireland 545
ITA Italy 2255
JPN Japan 4213
NLD Netherlands 1118
NZL New_Zealand 253
NOR Norway 486
KOR South_Korea 1713
ESP Spain 1581
SWE Sweden 584
TWN Taiwan 756
GBR United_Kingdom 3340
"""

# Tier 3: Country Group D:5 (US arms embargoes, ITAR 126.1) as of January 2025, plus Macau.
# China (with Hong Kong, which the EAR treats as China) is modelled already.
TIER3 = """
AFG Afghanistan 17
BLR Belarus 72
MMR Burma 65
KHM Cambodia 42
CAF Central_African_Republic 2.6
COD Congo_(Democratic_Republic) 66
CUB Cuba 107
CYP Cyprus 32
ERI Eritrea 2.3
HTI Haiti 20
IRN Iran 404
IRQ Iraq 251
PRK North_Korea 25
LBN Lebanon 18
LBY Libya 50
MAC Macau 47
NIC Nicaragua 18
RUS Russia 2021
SOM Somalia 11
SSD South_Sudan 6
SDN Sudan 30
SYR Syria 9
VEN Venezuela 100
ZWE Zimbabwe 35
"""

# Of tier 3, those under comprehensive US embargoes (Cuba, Iran, North Korea, Syria) or a
# licence requirement for every listed item (Russia, Belarus): no chip of either class goes.
SANCTIONED = {"CUB", "IRN", "PRK", "SYR", "RUS", "BLR"}

# Tier 2: every other country.
TIER2 = """
MEX Mexico 1789
BRA Brazil 2174
ARG Argentina 641
COL Colombia 364
CHL Chile 335
PER Peru 268
ECU Ecuador 119
DOM Dominican_Republic 121
GTM Guatemala 104
CRI Costa_Rica 86
PAN Panama 83
URY Uruguay 77
BOL Bolivia 46
PRY Paraguay 43
SLV El_Salvador 34
HND Honduras 34
JAM Jamaica 19
TTO Trinidad_and_Tobago 28
BHS Bahamas 14
BRB Barbados 6.4
GUY Guyana 17
SUR Suriname 3.5
BLZ Belize 3.3
ATG Antigua_and_Barbuda 2.0
DMA Dominica 0.65
GRD Grenada 1.3
KNA Saint_Kitts_and_Nevis 1.1
LCA Saint_Lucia 2.5
VCT Saint_Vincent 1.1
AUT Austria 516
CHE Switzerland 885
POL Poland 809
CZE Czechia 330
PRT Portugal 287
GRC Greece 243
ROU Romania 351
HUN Hungary 212
SVK Slovakia 133
BGR Bulgaria 102
HRV Croatia 82
LTU Lithuania 77
SVN Slovenia 68
LVA Latvia 43
EST Estonia 41
LUX Luxembourg 86
MLT Malta 21
ISL Iceland 31
SRB Serbia 75
BIH Bosnia_and_Herzegovina 27
ALB Albania 23
MKD North_Macedonia 15
MNE Montenegro 7.4
XKX Kosovo 10
MDA Moldova 17
UKR Ukraine 179
GEO Georgia 30
ARM Armenia 24
AZE Azerbaijan 72
TUR Turkiye 1108
AND Andorra 3.8
LIE Liechtenstein 7.7
MCO Monaco 9
SMR San_Marino 2.0
ISR Israel 514
QAT Qatar 213
KWT Kuwait 162
OMN Oman 109
BHR Bahrain 44
JOR Jordan 51
EGY Egypt 396
YEM Yemen 19
PSE Palestine 17
IND India 3550
IDN Indonesia 1371
THA Thailand 515
VNM Vietnam 430
PHL Philippines 437
BGD Bangladesh 437
PAK Pakistan 338
KAZ Kazakhstan 262
LKA Sri_Lanka 84
NPL Nepal 41
UZB Uzbekistan 90
MNG Mongolia 20
LAO Laos 15
BRN Brunei 15
TKM Turkmenistan 60
KGZ Kyrgyzstan 14
TJK Tajikistan 12
BTN Bhutan 3.0
MDV Maldives 6.6
TLS Timor-Leste 2.2
PNG Papua_New_Guinea 31
FJI Fiji 5.4
SLB Solomon_Islands 1.6
VUT Vanuatu 1.1
WSM Samoa 0.94
TON Tonga 0.5
KIR Kiribati 0.28
FSM Micronesia 0.46
MHL Marshall_Islands 0.28
PLW Palau 0.26
NRU Nauru 0.15
TUV Tuvalu 0.06
NGA Nigeria 363
ZAF South_Africa 377
DZA Algeria 240
MAR Morocco 141
KEN Kenya 108
ETH Ethiopia 164
AGO Angola 85
GHA Ghana 76
CIV Cote_d'Ivoire 79
TZA Tanzania 79
TUN Tunisia 48
CMR Cameroon 49
UGA Uganda 49
SEN Senegal 31
ZMB Zambia 28
COG Congo_(Republic) 15
GAB Gabon 20
MOZ Mozambique 21
BWA Botswana 19
NAM Namibia 12
MDG Madagascar 16
MUS Mauritius 14
MLI Mali 21
BFA Burkina_Faso 20
BEN Benin 20
GIN Guinea 23
NER Niger 17
RWA Rwanda 14
TCD Chad 13
MWI Malawi 13
TGO Togo 9.2
SLE Sierra_Leone 3.8
LBR Liberia 4.3
MRT Mauritania 10
BDI Burundi 2.6
LSO Lesotho 2.1
SWZ Eswatini 4.6
GMB Gambia 2.3
GNB Guinea-Bissau 2.0
CPV Cabo_Verde 2.6
COM Comoros 1.3
DJI Djibouti 3.9
GNQ Equatorial_Guinea 12
STP Sao_Tome_and_Principe 0.6
SYC Seychelles 2.1
"""

# GDP figures the World Bank's WDI does not give for 2023 (estimates from other sources or
# older years); marked "estimate" in the docs table.
ESTIMATES = {"TWN", "CUB", "ERI", "PRK", "SSD", "SYR", "VEN", "YEM", "AFG", "TKM", "SDN", "LIE", "MCO", "XKX"}

# The rest of the world's demand and installed base in the replay (scenarios/baseline.toml,
# nations.ROW), shared out by GDP.
ROW_DEMAND = 250000.0
ROW_INSTALLED = 800000

# Per tier [assumption]: alignment (-1 China … +1 US), dependence, ecosystem, strategic value.
TIER_TRAITS = {
    "tier1": dict(alignment=0.7, dependence="{ USA = 0.6, CHN = 0.3 }", ecosystem="{ nvidia = 1.0 }", strategic=0.6),
    "tier2": dict(alignment=0.2, dependence="{ USA = 0.5, CHN = 0.4 }", ecosystem="{ nvidia = 1.0 }", strategic=0.4),
    "tier3": dict(alignment=-0.5, dependence="{ USA = 0.1, CHN = 0.5 }", ecosystem="{ nvidia = 1.0, huawei = 0.3 }", strategic=0.3),
}


def table():
    rows = []
    for tier, text in (("tier1", TIER1), ("tier2", TIER2), ("tier3", TIER3)):
        for line in text.strip().splitlines():
            code, name, gdp = line.split()
            rows.append((code, name.replace("_", " "), tier, float(gdp)))
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate code"
    assert not MODELLED & set(codes), "a modelled nation listed again"
    return rows


def destination(code, tier):
    if tier == "tier3" and code in SANCTIONED:
        return "tier3_sanctioned"
    return {"tier1": "tier1", "tier2": "unlisted", "tier3": "tier3"}[tier]


def world(rows):
    total = sum(r[3] for r in rows)
    out = [
        "# chipdip 2025 replay on a world of nations: every country is its own nation, in the AI",
        "# Diffusion Rule tier the rule's supplement gives it [CAL World of nations], so the rule's",
        "# counterfactual (world_2025_rule_kept.toml) caps every tier-2 country, not only MYS, SGP, ARE",
        "# and SAU. Generated by scripts/world_2025.py from its country table: edit the table there.",
        "#",
        "# Demand: the replay's rest-of-world demand (nations.ROW, 250k H100e/month) and installed base",
        "# (800k H100) shared out by GDP in 2023 [CAL World of nations: demand indicator]; the nations",
        "# the replay already models keep their own calibration. Traits per tier are [assumption].",
        "",
        'extends = "malaysia_2025.toml"',
        'name = "world_2025"',
        'description = "2025 replay with every country in its Diffusion Rule tier, demand by GDP share"',
        "",
        "# The rest of the world is now its own nations: ROW keeps no demand and no installed base.",
        "[nations.ROW]",
        "demand_h100e_per_month = 0",
        "installed_units = { h100 = 0 }",
        "",
        "# Countries under comprehensive US embargoes or an all-items licence requirement (Cuba,",
        "# Iran, North Korea, Syria; Russia, Belarus) get neither class [CAL World of nations: tier 3].",
        "[regulators.USA.tiers.tier3_sanctioned.frontier]",
        'status = "prohibited"',
        "",
        "[regulators.USA.tiers.tier3_sanctioned.compliant]",
        'status = "prohibited"',
        "",
        "# Before the rule (it never bound [EV 1, EV 2]) tier-2 countries need no licence: they are",
        "# 'unlisted' as MYS and SGP are in the replay; world_2025_rule_kept.toml makes them tier 2.",
        "[regulators.USA.destinations]",
    ]
    for code, name, tier, _ in rows:
        out.append(f'{code} = "{destination(code, tier)}"{" " * (4 - len(code))}# {name}, {tier}')
    for code, name, tier, gdp in rows:
        t = TIER_TRAITS[tier]
        share = gdp / total
        out += [
            "",
            f"[nations.{code}]                  # {name}, {tier}, GDP ≈ ${gdp:g}B",
            f"demand_h100e_per_month = {ROW_DEMAND * share:.1f}",
            "demand_growth_annual = { min = 0.2, max = 0.5 }   # as nations.ROW",
            "demand_noise_sigma = 0.1",
            "backlog_decay = 0.3",
            f"alignment = {t['alignment']}",
            f"strategic_value = {t['strategic']}",
            f"dependence = {t['dependence']}",
            f"ecosystem = {t['ecosystem']}",
            f"installed_units = {{ h100 = {round(ROW_INSTALLED * share)} }}",
            f"gdp_usd = {gdp * 1e9:.4g}",
        ]
    return "\n".join(out) + "\n"


def rule_kept(rows):
    tier2 = [code for code, _, tier, _ in rows if tier == "tier2"] + ["MYS", "SGP", "ARE", "SAU"]
    sets = ", ".join(f'"regulators.USA.destinations.{c}" = "tier2"' for c in tier2)
    return "\n".join(
        [
            "# The world of nations, but the AI Diffusion Rule is never rescinded and no Gulf deals are",
            "# offered: diffusion_rule_kept.toml on world_2025.toml. Generated by scripts/world_2025.py.",
            'extends = "world_2025.toml"',
            'name = "world_2025_rule_kept"',
            'description = "world_2025 with the Diffusion Rule kept (every tier-2 country capped) and no Gulf deals"',
            "",
            "[timeline.diffusion_rule_rescinded]",
            "enabled = false",
            "",
            "# The rule binds from its compliance date, 2025-05-15 [EV 1] (monthly step: from 2025-06):",
            "# every tier-2 country gets the tier-2 licence and cap.",
            "[timeline.diffusion_rule_compliance]",
            'month = "2025-06"',
            'note = "AI Diffusion Rule compliance date 2025-05-15 [EV 1]; monthly step: in force from 2025-06; every tier-2 country"',
            f"set = {{ {sets} }}",
            "",
            "[regulators.USA.deals.uae_campus]",
            "enabled = false",
            "",
            "[regulators.USA.deals.humain]",
            "enabled = false",
            "",
            "[regulators.USA.deals.humain_amd]",
            "enabled = false",
            "",
        ]
    )


def markdown(rows):
    total = sum(r[3] for r in rows)
    out = ["| code | country | tier | GDP 2023, $B | share of the rest of the world | demand, H100e/month |", "|---|---|---|---|---|---|"]
    for code, name, tier, gdp in sorted(rows, key=lambda r: (r[2], -r[3])):
        t = destination(code, tier).replace("unlisted", "tier2")
        mark = " (estimate)" if code in ESTIMATES else ""
        out.append(
            f"| {code} | {name} | {t} | {gdp:g}{mark} | {100 * gdp / total:.2f}% | {ROW_DEMAND * gdp / total:.0f} |"
        )
    return "\n".join(out) + "\n"


def main():
    rows = table()
    if "--markdown" in sys.argv:
        sys.stdout.write(markdown(rows))
        return
    files = {"scenarios/world_2025.toml": world(rows), "scenarios/world_2025_rule_kept.toml": rule_kept(rows)}
    if "--check" in sys.argv:
        stale = [p for p, text in files.items() if open(p).read() != text]
        if markdown(rows) not in open("docs/calibration.md").read():
            stale.append("docs/calibration.md (World of nations table)")
        if stale:
            sys.exit("stale, rerun scripts/world_2025.py: " + ", ".join(stale))
        print("world_2025: scenarios and table match scripts/world_2025.py")
        return
    for path, text in files.items():
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
