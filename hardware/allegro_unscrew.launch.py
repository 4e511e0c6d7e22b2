"""ROS 2 launch file of the real unscrewing setup: Allegro driver, two cameras, and dexsim's side.

    ros2 launch hardware/allegro_unscrew.launch.py                      # the real hand (right, CAN can0)
    ros2 launch hardware/allegro_unscrew.launch.py twin:=true           # rehearsal: `dexsim twin` stands in

What it starts (topic names are those of ``hardware/allegro_ros2.yaml``):

* ``twin:=false`` (default): Wonik's official driver, ``allegro_hand_bringup/allegro_hand.launch.py``
  (ros2_control; ``/joint_states`` and ``/allegro_hand_position_controller/commands``), and two ``usb_cam``
  nodes publishing ``rgb8`` frames on ``/top_camera/image_raw`` and ``/wrist_camera/image_raw``.
* ``twin:=true``: ``dexsim twin`` serving the MuJoCo twin on the same topics instead (no hand, no cameras).
* ``dexsim_model:=true``: ``robot_state_publisher`` with dexsim's URDF (``hardware/allegro_right.urdf``, joints
  named ``index_0`` ... ``thumb_3``) in the ``dexsim`` namespace, for RViz beside the driver's own model. It reads
  ``/dexsim/joint_states`` under our joint names, e.g. from a twin run with a profile whose ``joint_names`` map
  each joint to itself and whose ``state_topic`` is ``/dexsim/joint_states``.

Your program (teleop recording, a policy) then runs ``gym.make("AllegroUnscrew-real", hardware=...)`` on the same
DDS domain (``ROS_DOMAIN_ID`` here; ``domain_id`` in the hardware YAML there); see ``hardware/SETUP.md``.
The CAN interface must be up before launching (SETUP.md, step 2).
"""

from __future__ import annotations

from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

HARDWARE_DIR = Path(__file__).resolve().parent
CAMERAS = ("top", "wrist")


def _camera_node(camera: str) -> Node:
    """A ``usb_cam`` node publishing ``/<camera>_camera/image_raw`` (rgb8) from ``<camera>_device``."""
    return Node(
        package="usb_cam",
        executable="usb_cam_node_exe",
        namespace=f"{camera}_camera",
        name=f"{camera}_camera",
        condition=UnlessCondition(LaunchConfiguration("twin")),
        parameters=[{
            "video_device": LaunchConfiguration(f"{camera}_device"),
            "camera_name": f"{camera}_camera",
            "frame_id": f"{camera}_camera",
            "image_width": LaunchConfiguration("image_width"),
            "image_height": LaunchConfiguration("image_height"),
            "framerate": LaunchConfiguration("camera_fps"),
            "pixel_format": "yuyv2rgb",  # published as rgb8, which AllegroUnscrew-real reads without decoding
        }],
        output="screen",
    )


def generate_launch_description() -> LaunchDescription:
    """The driver (or the twin), the cameras and the optional dexsim robot model."""
    arguments = [
        DeclareLaunchArgument("twin", default_value="false", description="serve the MuJoCo twin instead of the hand"),
        DeclareLaunchArgument("hand", default_value="right", description="Allegro driver: left or right"),
        DeclareLaunchArgument("hardware_type", default_value="physical_device",
                              description="driver ros2_control_hardware_type: physical_device, mock_components"),
        DeclareLaunchArgument("hardware_yaml", default_value=str(HARDWARE_DIR / "allegro_ros2.yaml"),
                              description="dexsim hardware profile the twin serves"),
        DeclareLaunchArgument("top_device", default_value="/dev/video0", description="top camera V4L2 device"),
        DeclareLaunchArgument("wrist_device", default_value="/dev/video2", description="wrist camera V4L2 device"),
        DeclareLaunchArgument("image_width", default_value="640", description="camera width, px"),
        DeclareLaunchArgument("image_height", default_value="480", description="camera height, px"),
        DeclareLaunchArgument("camera_fps", default_value="30.0", description="camera frame rate, Hz"),
        DeclareLaunchArgument("dexsim_model", default_value="false",
                              description="robot_state_publisher with dexsim's URDF in namespace dexsim"),
    ]
    driver = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("allegro_hand_bringup"), "launch", "allegro_hand.launch.py"])
        ),
        launch_arguments={
            "hand": LaunchConfiguration("hand"),
            "ros2_control_hardware_type": LaunchConfiguration("hardware_type"),
        }.items(),
        condition=UnlessCondition(LaunchConfiguration("twin")),
    )
    twin = ExecuteProcess(
        cmd=["dexsim", "twin", "--hardware", LaunchConfiguration("hardware_yaml"), "--transport", "rclpy",
             "--domain-id", EnvironmentVariable("ROS_DOMAIN_ID", default_value="0")],  # the launching shell's domain
        condition=IfCondition(LaunchConfiguration("twin")),
        output="screen",
    )
    model = Node(
        package="robot_state_publisher",
        executable="robot_state_publisher",
        namespace="dexsim",
        parameters=[{"robot_description": (HARDWARE_DIR / "allegro_right.urdf").read_text()}],
        condition=IfCondition(LaunchConfiguration("dexsim_model")),
        output="screen",
    )
    return LaunchDescription([*arguments, driver, twin, *(_camera_node(c) for c in CAMERAS), model])
