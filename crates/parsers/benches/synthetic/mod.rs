//! Synthetic Nagios files shaped like the 4.4.6 fixtures (same keys, realistic values), for benches.

use std::fmt::Write;

pub const HOSTS: usize = 10_000;
pub const SERVICES_PER_HOST: usize = 10;
const HOSTS_PER_GROUP: usize = 100;
/// Sorted, because Nagios writes objects sorted by name.
const SERVICE_NAMES: [&str; SERVICES_PER_HOST] =
    ["Disk /", "Disk /var", "HTTP", "HTTPS cert", "Load", "Memory", "NTP offset", "Processes", "SSH", "Swap"];
const NOW: u64 = 1_795_551_288;

fn host_name(h: usize) -> String {
    format!("srv{h:05}.dc{}.example.net", h % 4)
}

/// A status.dat for [`HOSTS`] hosts with [`SERVICES_PER_HOST`] services each, plus one comment and
/// one downtime per hundred services.
pub fn status_dat() -> String {
    let mut out = String::with_capacity(200 << 20);
    out.push_str("########################################\n#          NAGIOS STATUS FILE\n");
    out.push_str("########################################\n\n");
    let _ = write!(out, "info {{\n\tcreated={NOW}\n\tversion=4.4.6\n\tlast_update_check=0\n\tupdate_available=0\n");
    out.push_str("\tlast_version=\n\tnew_version=\n\t}\n\n");
    out.push_str("programstatus {\n\tmodified_host_attributes=0\n\tnagios_pid=3909\n\tdaemon_mode=1\n");
    let _ = write!(out, "\tprogram_start={}\n\tenable_notifications=1\n\tnext_comment_id=1\n\t}}\n\n", NOW - 3600);
    for h in 0..HOSTS {
        host_block(&mut out, h);
    }
    for h in 0..HOSTS {
        for (s, service) in SERVICE_NAMES.iter().enumerate() {
            service_block(&mut out, h, s, service);
        }
    }
    for h in (0..HOSTS).step_by(10) {
        let host = host_name(h);
        let _ = write!(
            out,
            "servicecomment {{\n\thost_name={host}\n\tservice_description=HTTP\n\tentry_type=4\n\
             \tcomment_id={h}\n\tsource=0\n\tpersistent=1\n\tentry_time={NOW}\n\texpires=0\n\texpire_time=0\n\
             \tauthor=alice\n\tcomment_data=looking into it, ticket=OPS-{h}\n\t}}\n\n"
        );
        let _ = write!(
            out,
            "servicedowntime {{\n\thost_name={host}\n\tservice_description=Disk /var\n\tdowntime_id={h}\n\
             \tcomment_id={h}\n\tentry_time={NOW}\n\tstart_time={NOW}\n\tflex_downtime_start=0\n\tend_time={}\n\
             \ttriggered_by=0\n\tfixed=1\n\tduration=7200\n\tis_in_effect=1\n\tstart_notification_sent=1\n\
             \tauthor=bob\n\tcomment=maintenance window\n\t}}\n\n",
            NOW + 7200
        );
    }
    out
}

fn host_block(out: &mut String, h: usize) {
    let state = usize::from(h % 50 == 0);
    let output =
        if state == 0 { "PING OK - Packet loss = 0%, RTA = 0.41 ms" } else { "PING CRITICAL - Packet loss = 100%" };
    let _ = write!(
        out,
        "hoststatus {{\n\thost_name={}\n\tmodified_attributes=0\n\tcheck_command=check-host-alive\n\
         \tcheck_period=24x7\n\tnotification_period=24x7\n\timportance=0\n\tcheck_interval=5.000000\n\
         \tretry_interval=1.000000\n\tevent_handler=\n\thas_been_checked=1\n\tshould_be_scheduled=1\n\
         \tcheck_execution_time=4.012\n\tcheck_latency=0.504\n\tcheck_type=0\n\tcurrent_state={state}\n\
         \tlast_hard_state={state}\n\tlast_event_id=0\n\tcurrent_event_id=0\n\tcurrent_problem_id=0\n\
         \tlast_problem_id=0\n\tplugin_output={output}\n\tlong_plugin_output=\n\
         \tperformance_data=rta=0.410000ms;3000.000000;5000.000000;0.000000 pl=0%;80;100;0\n\
         \tlast_check={}\n\tnext_check={}\n\tcheck_options=0\n\tcurrent_attempt=1\n\tmax_attempts=10\n\
         \tstate_type=1\n\tlast_state_change={}\n\tlast_hard_state_change={}\n\tlast_time_up={NOW}\n\
         \tlast_time_down=0\n\tlast_time_unreachable=0\n\tlast_notification=0\n\tnext_notification=0\n\
         \tno_more_notifications=0\n\tcurrent_notification_number=0\n\tcurrent_notification_id=0\n\
         \tnotifications_enabled=1\n\tproblem_has_been_acknowledged=0\n\tacknowledgement_type=0\n\
         \tactive_checks_enabled=1\n\tpassive_checks_enabled=1\n\tevent_handler_enabled=1\n\
         \tflap_detection_enabled=1\n\tprocess_performance_data=1\n\tobsess=1\n\tlast_update={NOW}\n\
         \tis_flapping=0\n\tpercent_state_change=0.00\n\tscheduled_downtime_depth=0\n\t}}\n\n",
        host_name(h),
        NOW - (h % 300) as u64,
        NOW + 300 - (h % 300) as u64,
        NOW - 86_400 - h as u64,
        NOW - 86_400 - h as u64,
    );
}

fn service_block(out: &mut String, h: usize, s: usize, service: &str) {
    let state = if (h + s) % 37 == 0 { (h + s) % 4 } else { 0 };
    let checked = usize::from((h + s) % 101 != 0);
    let output = match state {
        0 => "OK - everything within thresholds (used 41% of 512 GB)",
        1 => "WARNING - load average: 7.41, 6.90, 6.12",
        2 => "CRITICAL - Connection refused",
        _ => "UNKNOWN - plugin timed out after 10 seconds",
    };
    let long = if s == 7 { "top: nginx=12\\npostgres=40\\ncron=1" } else { "" };
    let _ = write!(
        out,
        "servicestatus {{\n\thost_name={}\n\tservice_description={service}\n\tmodified_attributes=0\n\
         \tcheck_command=check_nrpe!check_{s}!-w 80 -c 90\n\tcheck_period=24x7\n\tnotification_period=24x7\n\
         \timportance=0\n\tcheck_interval=5.000000\n\tretry_interval=1.000000\n\tevent_handler=\n\
         \thas_been_checked={checked}\n\tshould_be_scheduled=1\n\tcheck_execution_time=0.123\n\
         \tcheck_latency=0.041\n\tcheck_type=0\n\tcurrent_state={state}\n\tlast_hard_state={state}\n\
         \tlast_event_id=0\n\tcurrent_event_id=0\n\tcurrent_problem_id=0\n\tlast_problem_id=0\n\
         \tcurrent_attempt=1\n\tmax_attempts=3\n\tstate_type=1\n\tlast_state_change={}\n\
         \tlast_hard_state_change={}\n\tlast_time_ok={NOW}\n\tlast_time_warning=0\n\tlast_time_unknown=0\n\
         \tlast_time_critical=0\n\tplugin_output={output}\n\tlong_plugin_output={long}\n\
         \tperformance_data=used=41%;80;90;0;100 time=0.123s;;;0.000000\n\tlast_check={}\n\tnext_check={}\n\
         \tcheck_options=0\n\tcurrent_notification_number=0\n\tcurrent_notification_id=0\n\
         \tlast_notification=0\n\tnext_notification=0\n\tno_more_notifications=0\n\tnotifications_enabled=1\n\
         \tactive_checks_enabled=1\n\tpassive_checks_enabled=1\n\tevent_handler_enabled=1\n\
         \tproblem_has_been_acknowledged=0\n\tacknowledgement_type=0\n\tflap_detection_enabled=1\n\
         \tprocess_performance_data=1\n\tobsess=1\n\tlast_update={NOW}\n\tis_flapping=0\n\
         \tpercent_state_change=0.00\n\tscheduled_downtime_depth={}\n\t}}\n\n",
        host_name(h),
        NOW - 3600 - (h % 900) as u64,
        NOW - 3600 - (h % 900) as u64,
        NOW - (h % 300) as u64,
        NOW + 300 - (h % 300) as u64,
        usize::from(s == 1 && h % 10 == 0),
    );
}

/// The objects.cache matching [`status_dat`], hosts grouped a hundred per host group.
pub fn objects_cache() -> String {
    let mut out = String::with_capacity(120 << 20);
    out.push_str("########################################\n#       NAGIOS OBJECT CACHE FILE\n");
    out.push_str("########################################\n\n");
    out.push_str("define timeperiod {\n\ttimeperiod_name\t24x7\n\talias\t24x7\n\tmonday\t00:00-24:00\n\t}\n\n");
    out.push_str("define command {\n\tcommand_name\tcheck_nrpe\n\tcommand_line\t$USER1$/check_nrpe -H $HOSTADDRESS$ -c $ARG1$\n\t}\n\n");
    for g in 0..HOSTS / HOSTS_PER_GROUP {
        let members: Vec<_> = (g * HOSTS_PER_GROUP..(g + 1) * HOSTS_PER_GROUP).map(host_name).collect();
        let _ = write!(
            out,
            "define hostgroup {{\n\thostgroup_name\track{g:03}\n\talias\tRack {g}\n\tmembers\t{}\n\t}}\n\n",
            members.join(",")
        );
    }
    for h in 0..HOSTS {
        let name = host_name(h);
        let parents = if h % HOSTS_PER_GROUP == 0 { String::new() } else { host_name(h - h % HOSTS_PER_GROUP) };
        let _ = write!(
            out,
            "define host {{\n\thost_name\t{name}\n\talias\t{name}\n\taddress\t10.{}.{}.{}\n\tparents\t{parents}\n\
             \tcheck_period\t24x7\n\tcheck_command\tcheck-host-alive\n\tcontact_groups\tadmins\n\
             \tnotification_period\t24x7\n\tinitial_state\to\n\timportance\t0\n\tcheck_interval\t5.000000\n\
             \tretry_interval\t1.000000\n\tmax_check_attempts\t10\n\tactive_checks_enabled\t1\n\
             \tpassive_checks_enabled\t1\n\tobsess\t1\n\tevent_handler_enabled\t1\n\tlow_flap_threshold\t0.000000\n\
             \thigh_flap_threshold\t0.000000\n\tflap_detection_enabled\t1\n\tflap_detection_options\ta\n\
             \tfreshness_threshold\t0\n\tcheck_freshness\t0\n\tnotification_options\tr,d,u,f,s\n\
             \tnotifications_enabled\t1\n\tnotification_interval\t60.000000\n\tfirst_notification_delay\t0.000000\n\
             \tstalking_options\tn\n\tprocess_perf_data\t1\n\tretain_status_information\t1\n\
             \tretain_nonstatus_information\t1\n\t}}\n\n",
            h >> 16,
            (h >> 8) & 255,
            h & 255,
        );
    }
    for h in 0..HOSTS {
        let name = host_name(h);
        for (s, service) in SERVICE_NAMES.iter().enumerate() {
            let _ = write!(
                out,
                "define service {{\n\thost_name\t{name}\n\tservice_description\t{service}\n\tcheck_period\t24x7\n\
                 \tcheck_command\tcheck_nrpe!check_{s}!-w 80 -c 90\n\tcontact_groups\tadmins\n\
                 \tnotification_period\t24x7\n\tinitial_state\to\n\timportance\t0\n\tcheck_interval\t5.000000\n\
                 \tretry_interval\t1.000000\n\tmax_check_attempts\t3\n\tis_volatile\t0\n\tparallelize_check\t1\n\
                 \tactive_checks_enabled\t1\n\tpassive_checks_enabled\t1\n\tobsess\t1\n\tevent_handler_enabled\t1\n\
                 \tlow_flap_threshold\t0.000000\n\thigh_flap_threshold\t0.000000\n\tflap_detection_enabled\t1\n\
                 \tflap_detection_options\ta\n\tfreshness_threshold\t0\n\tcheck_freshness\t0\n\
                 \tnotification_options\tw,u,c,r,f,s\n\tnotifications_enabled\t1\n\
                 \tnotification_interval\t60.000000\n\tfirst_notification_delay\t0.000000\n\tstalking_options\tn\n\
                 \tprocess_perf_data\t1\n\tretain_status_information\t1\n\tretain_nonstatus_information\t1\n\t}}\n\n"
            );
        }
    }
    out
}
