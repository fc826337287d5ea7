#!/usr/bin/env python3
"""Generate a large Nagios object config: H hosts, S services per host, for bench/nagios-check.sh.
mode=explicit : one 'define service' per host/service pair (host_name=...)
mode=hostgroup: S service definitions applied via hostgroup_name (Nagios expands)
Writes OUT/base.cfg (time period, command, contact, generic templates) and OUT/big.cfg."""
import sys, os
out, H, S, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
G = 100
os.makedirs(out, exist_ok=True)
with open(f"{out}/base.cfg", "w") as f:
    f.write("""define timeperiod {
    timeperiod_name 24x7
    alias           Always
    monday          00:00-24:00
}
define command {
    command_name check_dummy
    command_line $USER1$/check_dummy $ARG1$ $ARG2$
}
define contact {
    contact_name                  admin
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     d,u,r
    service_notification_options  w,u,c,r
    host_notification_commands    check_dummy
    service_notification_commands check_dummy
}
define host {
    name               generic-host
    register           0
    max_check_attempts 3
    check_period       24x7
    check_command      check_dummy!0
    contacts           admin
    notification_period 24x7
    notification_interval 0
}
define service {
    name               generic-service
    register           0
    max_check_attempts 3
    retry_interval     1
    check_period       24x7
    contacts           admin
    notification_period 24x7
    notification_interval 0
}
""")
with open(f"{out}/big.cfg", "w") as f:
    w = f.write
    w("""define host {
    name            linux-host
    use             generic-host
    register        0
    hostgroups      all-linux
    check_interval  3600
    _OS             linux
}
define service {
    name                svc-tpl
    use                 generic-service
    register            0
    check_interval      3600
    _TEAM               ops
}
define service {
    name                svc-tpl-crit
    use                 svc-tpl
    register            0
    notification_options c,r
}
define hostgroup {
    hostgroup_name  all-linux
    alias           All Linux
}
""")
    for g in range(G):
        w(f"define hostgroup {{\n    hostgroup_name  hg-{g:03d}\n    alias           Group {g}\n}}\n")
    for h in range(H):
        w(f"define host {{\n    use         linux-host\n    host_name   host{h:05d}\n    alias       Host {h}\n"
          f"    address     10.{h//65536 % 256}.{h//256 % 256}.{h % 256}\n    hostgroups  +hg-{h % G:03d}\n}}\n")
    if mode == "explicit":
        for h in range(H):
            for s in range(S):
                tpl = "svc-tpl-crit" if s % 3 == 0 else "svc-tpl"
                w(f"define service {{\n    use                 {tpl}\n    host_name           host{h:05d}\n"
                  f"    service_description svc{s:02d}\n    check_command       check_dummy!0!ok {s}\n}}\n")
    else:
        for s in range(S):
            tpl = "svc-tpl-crit" if s % 3 == 0 else "svc-tpl"
            w(f"define service {{\n    use                 {tpl}\n    hostgroup_name      all-linux\n"
              f"    service_description svc{s:02d}\n    check_command       check_dummy!0!ok {s}\n}}\n")
